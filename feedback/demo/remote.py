"""The demo's other channels as their remotes would answer them, cut into payloads by the
connectors' own code, so that what the demo stores is byte for byte what a poll would store.

The App Store reviews are an Atom document read by the feed connector
(``feedback.channels.feed.document.read_document``); the forum's posts are the
``latest_posts`` of Discourse's ``/posts.json``; the mentions are Mastodon notifications
(``/api/v1/notifications?types[]=mention``). Forum posts and statuses are cut one per payload
by the connectors' own ``discourse.post_item`` and ``mastodon.status_item``, as their fetches
cut them. Pure: ``voices`` and the demo directory's specs in,
``FetchedItem`` values out, oldest first, each with the time a poll would have received it.
The help desk's tickets and the widget's messages are ``feedback.demo.desk``'s.
"""

import html
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from random import Random
from urllib.parse import urljoin
from xml.sax.saxutils import escape

from feedback.channels import FetchedItem, http
from feedback.channels.discourse import post_item
from feedback.channels.feed.document import read_document
from feedback.channels.mastodon import status_item
from feedback.demo import voices
from feedback.demo.mails import DemoMail
from feedback.mail import parse_message
from portal.demo.data import CustomerSpec

FEED_URL = "https://apps.example.com/gb/rss/customerreviews/id=6450012345/sortby=mostrecent/xml"
FORUM_HOST = "community.kitewire.example"
FORUM_URL = f"https://{FORUM_HOST}"
MASTODON_URL = f"https://{voices.MASTODON_INSTANCE}"
# What a poll adds between a post being written and the portal receiving it.
POLL_DELAY_MINUTES = (2, 15)
FORUM_CATEGORIES = {
    "general": 1,
    "dispatching": 5,
    "technician-app": 6,
    "integrations": 7,
    "feature-requests": 9,
}
FIRST_TOPIC_ID = 812
FIRST_POST_ID = 4630
# Topics opened by customers repeating a mail: ids of their own, apart from the others.
REPEAT_TOPIC_ID = 780
REPEAT_POST_ID = 4480
TEAM_ACCOUNT_ID = "109871200011223344"


@dataclass(frozen=True)
class Repeat:
    """A mail of the demo that its sender soon says again on another channel, nearly word for
    word: what they asked (the mail's text without greeting and sign-off), and when."""

    customer: CustomerSpec
    subject: str
    text: str
    sent_at: datetime


@dataclass(frozen=True)
class Person:
    """Who wrote a post: a handle on the remote and a name, and the directory customer it is
    (None for a new person)."""

    handle: str
    name: str
    customer: CustomerSpec | None = None


def repeats(
    mails: list[DemoMail], customers: list[CustomerSpec], indexes: tuple[int, ...]
) -> list[Repeat]:
    """The opening mails at ``indexes`` (among the customers' opening mails, in the order they
    arrived), said again ``REPEAT_AFTER_HOURS`` later; an index beyond the mail, or a mail
    whose sender is not in the directory's specs, is left out."""
    by_address = {customer.email: customer for customer in customers}
    openings = [mail for mail in mails if mail.kind == "customer"]
    found = []
    for index in indexes:
        if index >= len(openings):
            continue
        mail = openings[index]
        parsed = parse_message(mail.raw, received_at=mail.received_at)
        customer = by_address.get(parsed.from_address)
        if customer is None:
            continue
        asked = " ".join(parsed.text.split("\n\n")[1:-1]).replace("\n", " ")
        later = parsed.sent_at + timedelta(hours=voices.REPEAT_AFTER_HOURS)
        found.append(Repeat(customer, parsed.subject, asked, later))
    return found


def when_written(end: datetime, days_back: float) -> datetime:
    return (end - timedelta(days=days_back)).replace(microsecond=0)


def _received(rng: Random, item: FetchedItem, sent_at: datetime) -> FetchedItem:
    return replace(item, received_at=sent_at + timedelta(minutes=rng.randint(*POLL_DELAY_MINUTES)))


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def forum_username(customer: CustomerSpec) -> str:
    """A directory customer's forum username, from their address (unique in the directory):
    ``anna_walsh``."""
    return customer.email.split("@")[0].replace(".", "_")


def mastodon_acct(customer: CustomerSpec) -> str:
    """A directory customer's account, on the team's own instance (a local account's acct
    carries no instance): ``annawalsh``."""
    return customer.email.split("@")[0].replace(".", "")


# --- App Store reviews (Atom) ----------------------------------------------------------------


def reviews_document(end: datetime) -> bytes:
    """The reviews as Apple's customer-reviews feed answers them: Atom, newest first, the
    rating in ``im:rating`` (which the portal does not keep)."""
    entries = []
    for review in sorted(voices.REVIEWS, key=lambda review: review.days_back):
        updated = when_written(end, review.days_back).isoformat()
        entries.append(
            "<entry>"
            f"<updated>{updated}</updated>"
            f"<id>{review.review_id}</id>"
            f"<title>{escape(review.title)}</title>"
            f'<content type="text">{escape(review.text)}</content>'
            f"<im:rating>{review.rating}</im:rating>"
            "<im:version>4.12</im:version>"
            f"<author><name>{escape(review.author)}</name>"
            "<uri>https://apps.example.com/gb/reviews/id1</uri></author>"
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns:im="http://itunes.apple.com/rss" xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(FEED_URL)}</id>"
        "<title>Kitewire Technician: Customer Reviews</title>"
        f"<updated>{end.isoformat()}</updated>"
        f'<link rel="self" href="{escape(FEED_URL)}"/>' + "".join(entries) + "</feed>"
    ).encode()


def review_items(rng: Random, end: datetime) -> list[FetchedItem]:
    """The feed's entries as the feed connector stores them, oldest first."""
    answer = http.Response(
        status=200,
        headers={"Content-Type": "application/atom+xml; charset=utf-8"},
        body=reviews_document(end),
        url=FEED_URL,
    )
    # feedparser reads an entry's id as a URI relative to the feed's address, as Atom says.
    by_id = {urljoin(FEED_URL, review.review_id): review for review in voices.REVIEWS}
    return [
        _received(rng, item, when_written(end, by_id[item.source_id].days_back))
        for item in read_document(answer, FEED_URL).items
    ]


# --- the community forum (Discourse) ---------------------------------------------------------


def _forum_person(post: voices.ForumPost, customers: list[CustomerSpec]) -> Person:
    if post.customer is None:
        return Person(post.username, post.name)
    customer = customers[post.customer]
    return Person(forum_username(customer), customer.name, customer)


def forum_people(customers: list[CustomerSpec]) -> list[Person]:
    return [_forum_person(post, customers) for topic in voices.TOPICS for post in topic.posts]


def _post(
    post_id: int,
    topic_id: int,
    title: str,
    number: int,
    person: Person,
    text: str,
    when: datetime,
    category: str,
) -> dict:
    written = when.isoformat().replace("+00:00", ".000Z")
    slug = _slug(title)
    return {
        "id": post_id,
        "name": person.name,
        "username": person.handle,
        "avatar_template": f"/user_avatar/{FORUM_HOST}/{person.handle}/{{size}}/2_2.png",
        "created_at": written,
        "updated_at": written,
        "cooked": "".join(f"<p>{html.escape(line)}</p>" for line in text.split("\n")),
        "raw": text,
        "post_number": number,
        "post_type": 1,
        "reply_count": 0,
        "reply_to_post_number": None if number == 1 else 1,
        "reads": 3 + number * 7,
        "topic_id": topic_id,
        "topic_slug": slug,
        "topic_title": title,
        "category_id": FORUM_CATEGORIES[category],
        "version": 1,
        "post_url": f"/t/{slug}/{topic_id}/{number}",
    }  # fmt: skip


def forum_posts(
    end: datetime, customers: list[CustomerSpec], repeated: Sequence[Repeat] = ()
) -> list[dict]:
    """The forum's posts as ``/posts.json`` lists them (``latest_posts``), oldest first: the
    topics of ``voices`` and one topic for each repeated mail."""
    posts, post_id = [], FIRST_POST_ID
    for number, topic in enumerate(voices.TOPICS):
        topic_id = FIRST_TOPIC_ID + number * 3
        for post_number, post in enumerate(topic.posts, start=1):
            person, when = _forum_person(post, customers), when_written(end, post.days_back)
            posts.append(
                _post(post_id, topic_id, topic.title, post_number, person, post.text, when,
                      topic.category)
            )  # fmt: skip
            post_id += 1 + post_number % 2
    for number, repeat in enumerate(repeated):
        person = Person(forum_username(repeat.customer), repeat.customer.name, repeat.customer)
        posts.append(
            _post(REPEAT_POST_ID + number, REPEAT_TOPIC_ID + number, repeat.subject, 1, person,
                  repeat.text, repeat.sent_at, "general")
        )  # fmt: skip
    return sorted(posts, key=lambda post: post["created_at"])


def forum_repeaters(repeated: list[Repeat]) -> list[Person]:
    return [Person(forum_username(r.customer), r.customer.name, r.customer) for r in repeated]


def forum_items(
    rng: Random, end: datetime, customers: list[CustomerSpec], repeated: Sequence[Repeat] = ()
) -> list[FetchedItem]:
    """Each post as the Discourse connector's fetch stores it (``discourse.post_item``)."""
    items = []
    for post in forum_posts(end, customers, repeated):
        item = post_item(post, base_url=FORUM_URL)
        sent_at = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))
        items.append(_received(rng, item, sent_at))
    return items


# --- mentions on Mastodon ----------------------------------------------------------------------


def _mastodon_person(mention: voices.Mention, customers: list[CustomerSpec]) -> Person:
    if mention.customer is None:
        return Person(mention.acct, mention.name)
    customer = customers[mention.customer]
    return Person(mastodon_acct(customer), customer.name, customer)


def mastodon_people(customers: list[CustomerSpec]) -> list[Person]:
    return [_mastodon_person(mention, customers) for mention in voices.MENTIONS]


def qualified_acct(acct: str) -> str:
    """An acct as the Mastodon connector files its handle: with the instance."""
    return acct if "@" in acct else f"{acct}@{voices.MASTODON_INSTANCE}"


def _status_id(when: datetime, serial: int) -> str:
    # Mastodon's ids are a millisecond timestamp shifted left 16 bits, plus a sequence.
    return str(int(when.timestamp() * 1000) << 16 | serial)


def _account(person: Person, serial: int) -> dict:
    username = person.handle.split("@")[0]
    host = person.handle.split("@")[1] if "@" in person.handle else voices.MASTODON_INSTANCE
    return {
        "id": str(109_300_000_000_000_000 + serial * 7919),
        "username": username,
        "acct": person.handle,
        "display_name": person.name,
        "url": f"https://{host}/@{username}",
        "bot": False,
    }


def _status(status_id: str, when: datetime, person: Person, serial: int, text: str) -> dict:
    team = f"@{voices.TEAM_ACCOUNT}"
    mention = (
        f'<span class="h-card"><a href="{MASTODON_URL}/{team}" class="u-url mention">'
        f"@<span>{voices.TEAM_ACCOUNT}</span></a></span>"
    )
    account = _account(person, serial)
    return {
        "id": status_id,
        "created_at": when.isoformat().replace("+00:00", ".000Z"),
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"{account['url']}/statuses/{status_id}",
        "url": f"{account['url']}/{status_id}",
        "content": f"<p>{mention} {html.escape(text)}</p>",
        "account": account,
        "mentions": [{"id": TEAM_ACCOUNT_ID, "username": voices.TEAM_ACCOUNT,
                      "acct": voices.TEAM_ACCOUNT, "url": f"{MASTODON_URL}/{team}"}],
        "tags": [],
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
    }  # fmt: skip


def mastodon_items(rng: Random, end: datetime, customers: list[CustomerSpec]) -> list[FetchedItem]:
    """Each mention as the Mastodon connector's fetch stores it: ``status:<id>``, the status's
    own JSON, and in its metadata the instance, the team's account and the statuses it answers
    (root first), as ``/api/v1/statuses/<id>/context`` gives them; a reply to the team's own
    answer names that answer, which is not stored."""
    items: list[FetchedItem] = []
    ids: list[str] = []
    threads: list[list[str]] = []
    for serial, mention in enumerate(voices.MENTIONS):
        when = when_written(end, mention.days_back)
        status_id = _status_id(when, serial)
        status = _status(
            status_id, when, _mastodon_person(mention, customers), serial, mention.text
        )
        thread: list[str] = []
        if mention.replies_to is not None:
            thread = [*threads[mention.replies_to], ids[mention.replies_to]]
            if mention.after_answer:
                answered = when_written(end, mention.days_back + 0.05)
                thread.append(_status_id(answered, 900 + serial))
            status["in_reply_to_id"] = thread[-1]
        ids.append(status_id)
        threads.append(thread)
        item = status_item(
            status, base_url=MASTODON_URL, account=voices.TEAM_ACCOUNT, thread=thread
        )
        items.append(_received(rng, item, when))
    return sorted(items, key=lambda item: item.received_at)
