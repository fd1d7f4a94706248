"""What the channels benchmark polls, generated from a fixed seed, and the local web server that
answers it (``bench/channels.py``).

- An RSS 2.0 document of review-site entries, newest first: a title, a ``guid``, a link, a
  publication date, the reviewer as ``<author>address (Name)</author>`` (half of them) or
  ``<dc:creator>`` (the rest, no address), the review as text or as HTML in
  ``<content:encoded>``.
- Discourse posts over topics: ids in the order they were written, each topic opened by its
  first post (``post_number`` 1) and answered by later ones, in the JSON shape of
  ``GET /posts.json`` (the fields Discourse documents for ``latest_posts``), served newest first
  a page of 50 at a time with ``before=<id>``, as the connector pages it.

The server answers from bytes rendered before the timed part (a page of posts is rendered once
per ``before`` value and kept), so that serving costs the benchmark's process as little as
possible: it shares the process, and the GIL, with both sides.
"""

from __future__ import annotations

import bisect
import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from portal.demo.data import FIRST_NAMES, LAST_NAMES

SEED = 20261207
START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
# Discourse answers at most this many posts a page.
DISCOURSE_PAGE = 50
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "gmx.de", "web.de", "icloud.com")

TITLES = (
    "Sync lost my notes again",
    "Great app, one wish",
    "Crashes when exporting to PDF",
    "Dark mode please",
    "Login loop since the last update",
    "Best notes app I have used",
    "Handwriting recognition is slow",
    "Subscription price went up without notice",
    "Search does not find older notes",
    "Widget stopped updating",
    "Cannot attach photos on Android",
    "Lovely design, confusing settings",
)
SENTENCES = (
    "Since the last update the sync keeps dropping what I write on the iPad.",
    "I use it every day and the handwriting recognition is great.",
    "Every export of a notebook with more than 40 pages crashes the app.",
    "Please add a dark mode for the PDF viewer and I will give five stars.",
    "Support has not answered my e-mail from last week yet.",
    "It worked fine until version 5.2, now it is unusable on my phone.",
    "The new toolbar is much better, thank you for listening.",
    "I would pay more for a family plan with shared notebooks.",
    "Searching for a word I know is in a note finds nothing.",
    "Die Synchronisierung mit dem Desktop dauert mehrere Minuten.",
    "L'application se ferme dès que j'ouvre un carnet partagé.",
    "Honestly the best purchase I made this year, no complaints.",
    "After restarting the phone it works for a day, then the same again.",
    "The widget on the home screen shows notes from last month.",
    "Why do I have to log in again every morning?",
)
STARS = ("1 star", "2 stars", "3 stars", "4 stars", "5 stars")


def _text(rng: random.Random, low: int = 1, high: int = 5) -> list[str]:
    return rng.sample(SENTENCES, rng.randint(low, high))


def _people(rng: random.Random, count: int, prefix: str) -> list[tuple[str, str, str]]:
    """``(name, username, address)`` of ``count`` distinct people."""
    people = []
    for number in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        username = f"{prefix}{first}_{last}{number}".lower().replace(" ", "")
        address = f"{username.replace('_', '.')}@{rng.choice(FREE_MAIL)}"
        people.append((f"{first} {last}", username, address))
    return people


def feed_document(entries: int, *, seed: int = SEED, prefix: str = "") -> bytes:
    """An RSS 2.0 feed of ``entries`` reviews, newest first."""
    rng = random.Random(seed)
    people = _people(rng, max(entries // 4, 1), prefix)
    items = []
    when = START
    for number in range(entries):
        when += timedelta(seconds=rng.randint(30, 900))
        name, _, address = rng.choice(people)
        sentences = _text(rng)
        if rng.random() < 0.3:
            body = "<content:encoded><![CDATA[{}]]></content:encoded>".format(
                "".join(f"<p>{escape(s)}</p>" for s in sentences)
                + '<img src="https://tracker.example.net/p.gif" width="1" height="1">'
            )
            description = escape(sentences[0])
        else:
            body, description = "", escape(" ".join(sentences))
        author = (
            f"<author>{escape(address)} ({escape(name)})</author>"
            if rng.random() < 0.5
            else f"<dc:creator>{escape(name)}</dc:creator>"
        )
        review = f"{prefix}review-{number + 1}"
        items.append(
            "<item>"
            f"<title>{escape(rng.choice(TITLES))}</title>"
            f"<link>https://reviews.example.com/apps/haddad-notes/reviews/{review}</link>"
            f'<guid isPermaLink="false">{review}</guid>'
            f"{author}"
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
            f"<category>{rng.choice(STARS)}</category>"
            f"<description>{description}</description>{body}"
            "</item>"
        )
    items.reverse()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">\n<channel>'
        "<title>Haddad Notes — customer reviews</title>"
        "<link>https://reviews.example.com/apps/haddad-notes</link>"
        "<description>The latest reviews of Haddad Notes</description>"
        + "\n".join(items)
        + "</channel></rss>\n"
    ).encode()


def discourse_posts(
    posts: int, topics: int, *, seed: int = SEED, prefix: str = "", first_id: int = 1
) -> list[dict[str, Any]]:
    """``posts`` forum posts over ``topics`` topics, oldest first, as ``/posts.json`` shows
    them."""
    rng = random.Random(seed)
    people = _people(rng, max(posts // 7, 1), prefix)
    openers = {0, *rng.sample(range(1, posts), topics - 1)}
    open_topics: list[dict[str, Any]] = []
    result = []
    when = START
    for number in range(posts):
        when += timedelta(seconds=rng.randint(20, 600))
        person = rng.randrange(len(people))
        name, username, _ = people[person]
        if number in openers:
            topic_id = first_id + len(open_topics)
            title = f"{rng.choice(TITLES)} ({prefix}{topic_id})"
            slug = title.lower().replace(" ", "-").replace("(", "").replace(")", "")
            topic = {"id": topic_id, "title": title, "slug": slug, "posts": 0}
            open_topics.append(topic)
        else:
            # Replies go mostly to recent topics, as on a forum.
            topic = open_topics[-1 - min(int(rng.expovariate(1 / 20)), len(open_topics) - 1)]
        topic["posts"] += 1
        sentences = _text(rng, 1, 4)
        stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        post_id = first_id + number
        result.append(
            {
                "id": post_id,
                "name": name,
                "username": username,
                "avatar_template": f"/user_avatar/forum.example.com/{username}/{{size}}/1_2.png",
                "created_at": stamp,
                "cooked": "".join(f"<p>{escape(s)}</p>" for s in sentences),
                "post_number": topic["posts"],
                "post_type": 1,
                "updated_at": stamp,
                "reply_count": 0,
                "reply_to_post_number": None if topic["posts"] == 1 else 1,
                "quote_count": 0,
                "incoming_link_count": 0,
                "reads": rng.randint(1, 40),
                "score": round(rng.random() * 5, 1),
                "yours": False,
                "topic_id": topic["id"],
                "topic_slug": topic["slug"],
                "topic_title": topic["title"],
                "topic_html_title": escape(topic["title"]),
                "category_id": rng.choice((4, 5, 6)),
                "display_username": name,
                "version": 1,
                "can_edit": False,
                "user_title": None,
                "raw": "\n\n".join(sentences),
                "moderator": False,
                "admin": False,
                "staff": False,
                "user_id": 100 + person,
                "hidden": False,
                "trust_level": rng.randint(0, 3),
                "deleted_at": None,
                "user_deleted": False,
                "wiki": False,
                "post_url": f"/t/{topic['slug']}/{topic['id']}/{topic['posts']}",
            }
        )
    return result


class PostPages:
    """``GET /posts.json`` over ``posts``: the newest page, or the page below ``before``,
    rendered once per ``before`` value."""

    def __init__(self, posts: list[dict[str, Any]]) -> None:
        self.posts = sorted(posts, key=lambda post: post["id"])
        self.ids = [post["id"] for post in self.posts]
        self.pages: dict[int | None, bytes] = {}
        self.lock = threading.Lock()

    def page(self, before: int | None) -> bytes:
        with self.lock:
            body = self.pages.get(before)
        if body is None:
            end = len(self.ids) if before is None else bisect.bisect_left(self.ids, before)
            chosen = self.posts[max(end - DISCOURSE_PAGE, 0) : end][::-1]
            body = json.dumps({"latest_posts": chosen}).encode()
            with self.lock:
                self.pages[before] = body
        return body


class LocalWeb:
    """A loopback HTTP server: a fixed document per path, and ``/posts.json`` pages under a
    forum's path. ``requests`` counts what was asked for (reset it between runs)."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[str, bytes]] = {}
        self.forums: dict[str, PostPages] = {}
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, target: str) -> tuple[int, str, bytes]:
        parts = urlsplit(target)
        self.requests += 1
        if parts.path in self.documents:
            content_type, body = self.documents[parts.path]
            return 200, content_type, body
        forum = parts.path.removesuffix("/posts.json")
        if forum in self.forums:
            before = parse_qs(parts.query).get("before")
            return (
                200,
                "application/json",
                self.forums[forum].page(int(before[0]) if before else None),
            )
        return 404, "application/json", b'{"errors": ["not found"]}'

    @contextmanager
    def running(self) -> Iterator[LocalWeb]:
        web = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, content_type, body = web.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=5)
