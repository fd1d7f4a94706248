"""The feed connector without a database: its settings, its parse of recorded entries (pure)
and its fetch against a local server that serves recorded RSS and Atom documents."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime

import pytest

from feedback.channels import ConfigError, ConnectorError, get_connector
from feedback.channels.base import unknown_settings_message
from feedback.channels.feed.config import CONFIG_FIELDS as FEED_FIELDS
from feedback.channels.feed.config import (
    TIMEOUT_INVALID,
    URL_HAS_CREDENTIALS,
    URL_PLAINTEXT,
    URL_REQUIRED,
)
from feedback.channels.feed.connector import CHECK_OK, KEYS_AS_WRITTEN, FeedConnector
from feedback.channels.feed.document import (
    FEED_LINKED,
    FEED_LOCKED,
    FEED_NOT_FOUND,
    FEED_REFUSED_LOGIN,
    NOT_A_FEED,
    NOT_A_FEED_HTML,
    content_digest,
    read_author,
    read_document,
)
from feedback.channels.feed.parse import (
    DOCUMENT_UNREADABLE,
    ENTRY_EMPTY,
    ENTRY_WITHOUT_ID,
    PAYLOAD_NOT_AN_ENTRY,
    parse_entry,
)
from feedback.channels.http import RATE_LIMITED, SERVER_ERROR, Response
from feedback.mail import UnparseableMessage
from tests.feedback.fakeweb import Reply, fixture_bytes

RECEIVED = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml"


@pytest.fixture
def connector() -> FeedConnector:
    # A new instance per test: nothing kept in memory from another test.
    return FeedConnector()


def serve(web, name: str, path: str = "/feed.xml", content_type: str = RSS, **headers: str):
    web.route(
        "GET",
        path,
        Reply(200, fixture_bytes("feed", name), {"Content-Type": content_type, **headers}),
    )
    return {"url": web.url + path}


def fetch_all(connector: FeedConnector, config, cursor=None, **options):
    result = connector.fetch(config, cursor, **options)
    return result.items, result.cursor


def parse(connector: FeedConnector, item, received_at: datetime = RECEIVED):
    return connector.parse(item.raw, received_at=received_at, metadata=item.metadata)


def by_source(items) -> dict:
    return {item.source_id: item for item in items}


def by_title(connector: FeedConnector, items) -> dict:
    return {parse(connector, item).subject: parse(connector, item) for item in items}


# --- settings -------------------------------------------------------------------------------


def test_the_feed_connector_is_registered_takes_no_replies_and_parses_its_own_payloads():
    connector = get_connector("feed")

    assert isinstance(connector, FeedConnector)
    assert (connector.mail, connector.push, connector.reply_by) == (False, False, "")
    assert connector.secret_fields == frozenset({"password"})


def test_a_config_is_cleaned_with_defaults(connector):
    cleaned = connector.validate_config({"url": " https://example.com/feed.xml?page=1 "})

    assert cleaned == {
        "url": "https://example.com/feed.xml?page=1",
        "username": "",
        "password": "",
        "timeout": 30.0,
    }


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({}, "url", URL_REQUIRED),
        ({"url": "http://example.com/feed"}, "url", URL_PLAINTEXT),
        ({"url": "https://bob:pw@example.com/feed"}, "url", URL_HAS_CREDENTIALS),
        ({"url": "https://example.com/feed", "timeout": 0}, "timeout", TIMEOUT_INVALID),
        ({"url": "https://example.com/feed", "timeout": True}, "timeout", TIMEOUT_INVALID),
        (
            {"url": "https://example.com/feed", "token": "x"},
            "token",
            unknown_settings_message("feed", ["token"], FEED_FIELDS),
        ),
    ],
)
def test_a_bad_config_is_refused_naming_its_field(connector, config, field, message):
    with pytest.raises(ConfigError) as refused:
        connector.validate_config(config)

    assert (refused.value.field, refused.value.message) == (field, message)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/feed", "example.com/feed", "https://", "https://[::1/feed", 42]
)
def test_an_address_that_is_no_web_address_is_refused(connector, url):
    with pytest.raises(ConfigError) as refused:
        connector.validate_config({"url": url})

    assert refused.value.field == "url"


def test_plain_http_is_allowed_for_a_loopback_host_only(connector):
    assert connector.validate_config({"url": "http://127.0.0.1:8080/feed"})["url"] == (
        "http://127.0.0.1:8080/feed"
    )


def test_a_password_without_a_username_is_dropped(connector):
    cleaned = connector.validate_config({"url": "https://example.com/f", "password": "pw"})

    assert (cleaned["username"], cleaned["password"]) == ("", "")


# --- parse (pure) ---------------------------------------------------------------------------


def test_an_rss_review_becomes_a_revisable_customer_message(connector, fake_web):
    config = serve(fake_web, "reviews.rss")
    items, _ = fetch_all(connector, config)

    review = parse(connector, by_source(items)["review-88127"])

    source = f"127.0.0.1{'/feed.xml'}"
    assert review.message_id == f"review-88127@{source}"
    assert review.identity_hash == hashlib.sha256(review.message_id.encode()).hexdigest()
    assert review.revisable
    assert review.subject == "Sync lost my notes twice this week"
    assert review.text == (
        "Since the last update the sync keeps dropping the notes I write on the iPad.\n\n"
        "Twice this week a whole page was gone. Support has not answered yet."
    )
    assert "<script" not in review.html and "alert" not in review.html
    # The relative link was made absolute against the feed's address, so it survives.
    assert 'href="https://reviews.example.com/apps/haddad-notes/support"' not in review.html
    assert f'href="{fake_web.url}/apps/haddad-notes/support"' in review.html
    assert (review.from_name, review.from_address) == ("Maren Olsen", "")
    assert (review.sender_handle_kind, review.sender_handle) == ("", "")
    assert review.sent_at == datetime(2026, 3, 3, 9, 58, 12, tzinfo=UTC)
    assert review.url == "https://reviews.example.com/apps/haddad-notes/reviews/88127"
    assert (review.lane, review.in_reply_to, review.references, review.attachments) == (
        "customer",
        "",
        [],
        [],
    )


def test_an_rss_author_with_an_address_gives_the_sender_address(connector, fake_web):
    items, _ = fetch_all(connector, serve(fake_web, "reviews.rss"))

    review = parse(connector, by_source(items)["review-88102"])

    assert (review.from_name, review.from_address) == ("Jonas Weber", "jonas.weber@example.org")
    assert review.sent_at == datetime(2026, 3, 2, 16, 20, 45, tzinfo=UTC)
    assert review.html == (
        "I use it every day and the handwriting recognition is great. Please add a dark mode "
        "for the PDF viewer &amp; I will give five stars."
    )


def test_full_content_wins_over_the_summary_and_remote_images_are_dropped(connector, fake_web):
    items, _ = fetch_all(connector, serve(fake_web, "reviews.rss"))

    review = parse(connector, by_source(items)["review-88090"])

    assert review.text == (
        "Every export of a notebook with more than 40 pages crashes the app.\n\n"
        "- iPad Air, iPadOS 19.3\n- Haddad Notes 5.2.1"
    )
    assert "tracker.example.net" not in review.html
    assert "Short review" not in review.text


def test_an_atom_entry_keeps_its_tag_id_and_lower_cases_the_author_address(connector, fake_web):
    items, _ = fetch_all(connector, serve(fake_web, "forum.atom", content_type=ATOM))

    topic = parse(connector, by_source(items)["tag:community.example.com,2026:topic/4411"])

    assert topic.message_id == "tag:community.example.com,2026:topic/4411"
    assert topic.subject == "Export to Markdown <with front matter>"
    assert (topic.from_name, topic.from_address) == ("Aiko Tanaka", "aiko.tanaka@example.jp")
    # Published 07:02:11+01:00, updated later: the publication time is when it was sent.
    assert topic.sent_at == datetime(2026, 3, 4, 6, 2, 11, tzinfo=UTC)
    assert topic.text.startswith("We keep our handbook in a static site.")
    assert "> +1 from the docs team" in topic.text
    assert topic.url == "https://community.example.com/t/export-to-markdown/4411"


def test_an_atom_entry_without_published_is_dated_by_updated_and_sanitised(connector, fake_web):
    items, _ = fetch_all(connector, serve(fake_web, "forum.atom", content_type=ATOM))

    topic = parse(connector, by_source(items)["tag:community.example.com,2026:topic/4398"])

    assert topic.sent_at == datetime(2026, 3, 2, 19, 45, tzinfo=UTC)
    assert "onerror" not in topic.html
    assert topic.from_name == "Tomás Ferreira"


def test_an_entry_dated_in_the_future_is_dated_by_its_arrival(connector, fake_web):
    items, _ = fetch_all(connector, serve(fake_web, "forum.atom", content_type=ATOM))
    early = datetime(2026, 3, 1, tzinfo=UTC)

    topic = parse(connector, items[-1], received_at=early)

    assert topic.sent_at == early


def test_an_entry_without_guid_is_keyed_by_link_and_publication_time(connector, fake_web):
    items, _ = fetch_all(connector, serve(fake_web, "entry-without-id.rss"))

    key = "https://status.example.com/incidents/771#2026-03-03T12:00:00+00:00"
    incident = parse(connector, by_source(items)[key])

    assert incident.message_id == key
    assert incident.subject == "Search is slow again"


def test_an_entry_without_id_and_link_is_its_own_payload_that_parse_refuses(connector, fake_web):
    items, _ = fetch_all(connector, serve(fake_web, "entry-without-id.rss"))

    nameless = [item for item in items if item.source_id.startswith("entry:")]
    assert len(nameless) == 1
    assert nameless[0].source_id == "entry:" + hashlib.sha256(nameless[0].raw).hexdigest()
    with pytest.raises(UnparseableMessage) as refused:
        parse(connector, nameless[0])
    assert refused.value.reason == ENTRY_WITHOUT_ID
    assert b"nothing identifies it" in nameless[0].raw


def test_an_entry_with_an_id_but_nothing_to_read_is_refused(connector):
    raw = json.dumps({"kind": "feed-entry", "id": "urn:x:1", "feed": {"source": "e.com/f"}})

    with pytest.raises(UnparseableMessage) as refused:
        connector.parse(raw.encode(), received_at=RECEIVED, metadata={})

    assert refused.value.reason == ENTRY_EMPTY


@pytest.mark.parametrize("raw", [b"<rss>", b"[]", b'{"kind": "mail"}', b"\xff\xfe"])
def test_a_payload_that_is_no_stored_entry_is_refused(connector, raw):
    with pytest.raises(UnparseableMessage) as refused:
        connector.parse(raw, received_at=RECEIVED, metadata={})

    assert refused.value.reason.startswith(PAYLOAD_NOT_AN_ENTRY.format(error=""))


def test_a_long_id_is_hashed_into_the_source_id_and_the_message_id(connector):
    long_id = "urn:review:" + "x" * 600
    raw = json.dumps(
        {
            "kind": "feed-entry",
            "id": long_id,
            "title": {"type": "text", "value": "Hi"},
            "feed": {"source": "e.com/f"},
        }
    ).encode()

    parsed = connector.parse(raw, received_at=RECEIVED, metadata={})

    assert parsed.message_id == f"sha256-{hashlib.sha256(long_id.encode()).hexdigest()}@e.com/f"


# --- authors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_id", "name", "address"),
    [
        ("a-de", "Ute Berger", "ute@shop.de"),
        ("a-org", "Jonas Weber", "jonas.weber@example.org"),
        ("a-info", "Help Desk", "desk@help.info"),
        # feedparser knows top-level domains of two to four letters only: "buyer@store.onli"
        # and the name "ne (Buyer Name".
        ("a-online", "Buyer Name", "buyer@store.online"),
        ("a-example", "Mia Svensson", "mia@notes.example"),
        ("a-company", "Priya Raman", "priya@haddad.company"),
        ("a-quoted", "Weber, Jonas", "jonas@weber.company"),
        ("a-bare", "lee@reviews.example", "lee@reviews.example"),
        ("a-name", "Maren Olsen", ""),
        ("a-nodomain", "Buyer Name", ""),
        ("a-noaddress", "Ann Lee <not an address>", ""),
        ("a-two", "one@x.example, two@x.example", ""),
    ],
)
def test_an_rss_author_is_read_in_every_form_and_top_level_domain(
    connector, fake_web, source_id, name, address
):
    items, _ = fetch_all(connector, serve(fake_web, "authors.rss"))

    review = parse(connector, by_source(items)[source_id])

    assert (review.from_name, review.from_address) == (name, address)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("buyer@store.online (Buyer Name)", ("Buyer Name", "buyer@store.online")),
        ("Buyer Name <Buyer@Store.Online>", ("Buyer Name", "Buyer@Store.Online")),
        ("Buyer  Name (buyer@store.online)", ("Buyer  Name", "buyer@store.online")),
        (" buyer@store.online ", ("", "buyer@store.online")),
        # Letters beyond ASCII before the @, as the mail parser takes them (RFC 6531).
        ("zoë.silva@icloud.com (Zoë Silva)", ("Zoë Silva", "zoë.silva@icloud.com")),
        ("Zoë Silva <zoë silva@icloud.com>", ("Zoë Silva", "")),
        ("Buyer Name", ("Buyer Name", "")),
        ("Buyer Name <buyer@store>", ("Buyer Name", "")),
        ("buyer@localhost (Buyer Name)", ("Buyer Name", "")),
        ("Buyer Name (buyer@store)", ("Buyer Name", "")),
        ("Jane Doe jane@x.example", ("Jane Doe jane@x.example", "")),
        ("", ("", "")),
    ],
)
def test_an_author_is_split_into_name_and_a_valid_address(written, read):
    assert read_author(written) == read


def test_an_atom_author_is_taken_from_its_elements(connector, fake_web):
    items, _ = fetch_all(connector, serve(fake_web, "ids.atom", content_type=ATOM))

    topics = by_title(connector, items)

    assert (
        topics["An id that is no URI"].from_name,
        topics["An id that is no URI"].from_address,
    ) == (
        "Aiko Tanaka",
        "aiko@example.jp",
    )
    # A name with parentheses is a name: only an <email> gives an address.
    assert (
        topics["An id that is a URN"].from_name,
        topics["An id that is a URN"].from_address,
    ) == (
        "Buyer (store.online)",
        "",
    )


# --- ids as the feed wrote them -------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "message_id"),
    [
        # feedparser reads a guid as a permalink unless isPermaLink="false", and resolves it
        # against the feed's address: "qa-1" became "http://127.0.0.1:<port>/feeds/qa-1".
        ("A bare guid that claims to be a permalink", "qa-1@127.0.0.1/feeds/good.rss"),
        ("A number", "12345@127.0.0.1/feeds/good.rss"),
        ("A bare guid that says it is no permalink", "review-9@127.0.0.1/feeds/good.rss"),
        ("A time", "12:30@127.0.0.1/feeds/good.rss"),
        ("A URN", "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"),
        ("A tag URI", "tag:reviews.example.com,2026:review/77"),
        ("A permalink", "https://reviews.example.com/r/88"),
    ],
)
def test_a_bare_guid_is_qualified_by_its_feed_and_a_uri_stays_global(
    connector, fake_web, title, message_id
):
    items, _ = fetch_all(connector, serve(fake_web, "ids.rss", path="/feeds/good.rss"))

    assert by_title(connector, items)[title].message_id == message_id


def test_a_bare_guid_keeps_the_payload_and_source_id_it_had_and_comes_with_its_id(
    connector, fake_web
):
    items, _ = fetch_all(connector, serve(fake_web, "ids.rss", path="/feeds/good.rss"))

    item = by_source(items)[f"{fake_web.url}/feeds/qa-1"]

    # The payload is the bytes it always was (so no entry is stored again): the id and link
    # feedparser read; the id as the feed wrote it comes beside it.
    assert json.loads(item.raw)["id"] == f"{fake_web.url}/feeds/qa-1"
    assert item.metadata == {"id": "qa-1", "feed": "127.0.0.1/feeds/good.rss"}
    assert parse(connector, item).url == f"{fake_web.url}/feeds/qa-1"


def test_a_relative_atom_id_is_qualified_by_its_feed(connector, fake_web):
    items, _ = fetch_all(connector, serve(fake_web, "ids.atom", "/feeds/a.atom", ATOM))

    topics = by_title(connector, items)

    assert topics["An id that is no URI"].message_id == "4411@127.0.0.1/feeds/a.atom"
    assert topics["An id that is a URN"].message_id == (
        "urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6"
    )


def test_two_feeds_of_one_folder_give_a_bare_guid_two_message_ids(connector, fake_web):
    good, _ = fetch_all(connector, serve(fake_web, "qa-good.rss", path="/feeds/good.rss"))
    other, _ = fetch_all(connector, serve(fake_web, "qa-other.rss", path="/feeds/other.rss"))

    assert {parse(connector, item).message_id for item in good} == {
        "qa-1@127.0.0.1/feeds/good.rss",
        "qa-2@127.0.0.1/feeds/good.rss",
    }
    assert [parse(connector, item).message_id for item in other] == [
        "qa-1@127.0.0.1/feeds/other.rss"
    ]


def test_feeds_that_differ_by_query_string_alone_give_a_bare_guid_two_message_ids(
    connector, fake_web
):
    serve(fake_web, "qa-other.rss", path="/feeds/q.rss")

    first, _ = fetch_all(connector, {"url": fake_web.url + "/feeds/q.rss?app=1&token=s3cret"})
    second, _ = fetch_all(connector, {"url": fake_web.url + "/feeds/q.rss?app=2&token=s3cret"})

    first_id, second_id = (
        parse(connector, first[0]).message_id,
        parse(connector, second[0]).message_id,
    )
    digest = hashlib.sha256(b"app=1&token=s3cret").hexdigest()[:16]
    assert first_id == f"qa-1@127.0.0.1/feeds/q.rss?{digest}"
    assert second_id.startswith("qa-1@127.0.0.1/feeds/q.rss?") and second_id != first_id
    # The query string may hold an access token: it is named by a digest only.
    assert "s3cret" not in first_id + second_id
    assert b"s3cret" not in first[0].raw


def test_a_payload_stored_without_the_id_as_written_keeps_its_message_id(connector):
    raw = json.dumps(
        {
            "kind": "feed-entry",
            "id": "http://127.0.0.1:8765/feeds/qa-1",
            "title": {"type": "text", "value": "Hi"},
            "feed": {"source": "127.0.0.1/feeds/good.rss"},
        }
    ).encode()
    as_written = {"id": "qa-1", "feed": "127.0.0.1/feeds/good.rss"}

    before = connector.parse(raw, received_at=RECEIVED, metadata={})
    now = connector.parse(raw, received_at=RECEIVED, metadata=as_written)

    assert before.message_id == "http://127.0.0.1:8765/feeds/qa-1"
    assert now.message_id == "qa-1@127.0.0.1/feeds/good.rss"
    assert now.identity_hash == hashlib.sha256(now.message_id.encode()).hexdigest()


def test_a_new_feed_keys_every_entry_as_written(connector, fake_web):
    items, cursor = fetch_all(connector, serve(fake_web, "ids.rss", path="/feeds/good.rss"))

    assert all(item.metadata["feed"] == "127.0.0.1/feeds/good.rss" for item in items)
    assert cursor["keys"] == KEYS_AS_WRITTEN and "legacy" not in cursor


def test_a_feed_polled_before_keeps_the_ids_of_the_entries_it_held(connector, fake_web):
    # The cursor an earlier version left: no "keys".
    config = serve(fake_web, "qa-good.rss", path="/feeds/good.rss")
    earlier = {"etag": "", "modified": "", "digest": "0" * 64}

    items, cursor = fetch_all(connector, config, earlier)

    assert [item.metadata for item in items] == [{}, {}]
    assert sorted(parse(connector, item).message_id for item in items) == [
        f"{fake_web.url}/feeds/qa-1",
        f"{fake_web.url}/feeds/qa-2",
    ]
    assert cursor["keys"] == KEYS_AS_WRITTEN
    assert cursor["legacy"] == [f"{fake_web.url}/feeds/qa-1", f"{fake_web.url}/feeds/qa-2"]


def test_entries_that_come_later_are_keyed_as_written_and_gone_ones_forgotten(connector, fake_web):
    config = serve(fake_web, "qa-good.rss", path="/feeds/good.rss")
    _, cursor = fetch_all(connector, config, {"digest": "0" * 64})
    # qa-1 changed, qa-2 left the feed, qa-3 is new.
    changed = fixture_bytes("feed", "qa-good-changed.rss")
    later = re.sub(rb"<item>\s*<title>Is the handwriting.*?</item>", b"", changed, flags=re.S)
    fake_web.route("GET", "/feeds/good.rss", Reply(200, later, {"Content-Type": RSS}))

    items, cursor = fetch_all(connector, config, cursor)

    assert sorted(parse(connector, item).message_id for item in items) == [
        # Still the id the earlier version stored it under, so the change revises it.
        f"{fake_web.url}/feeds/qa-1",
        "qa-3@127.0.0.1/feeds/good.rss",
    ]
    assert cursor["legacy"] == [f"{fake_web.url}/feeds/qa-1"]


def test_the_same_document_gives_byte_identical_payloads(connector, fake_web):
    config = serve(fake_web, "reviews.rss")

    first, _ = fetch_all(connector, config)
    second, _ = fetch_all(FeedConnector(), config)

    assert [(i.source_id, i.raw) for i in first] == [(i.source_id, i.raw) for i in second]
    # Oldest first, so items open in the order the entries were written.
    assert [i.source_id for i in first] == ["review-88090", "review-88102", "review-88127"]


def test_a_changed_entry_is_a_new_payload_under_the_same_source_id(connector, fake_web):
    before, _ = fetch_all(connector, serve(fake_web, "reviews.rss"))
    after, _ = fetch_all(connector, serve(fake_web, "reviews-changed.rss", path="/changed.xml"))
    # Same source (host and path) for both: compare entries of the one feed.
    before, after = by_source(before), by_source(after)

    assert before["review-88127"].raw != after["review-88127"].raw
    assert before["review-88102"].raw.replace(b"/feed.xml", b"/changed.xml") == (
        after["review-88102"].raw
    )
    revised = parse(connector, after["review-88127"])
    assert revised.subject == "Sync lost my notes twice this week (update: fixed)"


# --- entries of one document that share a key ---------------------------------------------

REVIEWS_URL = "https://ex.com/reviews.rss"
APP_PAGE = "https://apps.example.com/app/haddad-notes"


def read(body: bytes | str, repeats=None):
    """A recorded document (or its bytes) read as a fetch reads it (pure: no network)."""
    body = fixture_bytes("feed", body) if isinstance(body, str) else body
    answer = Response(200, {"Content-Type": RSS}, body, REVIEWS_URL)
    return read_document(answer, REVIEWS_URL, repeats=repeats)


def messages_by_title(document) -> dict:
    return {
        message.subject: message
        for message in (
            parse_entry(item.raw, received_at=RECEIVED, metadata=item.metadata)
            for item in document.items
        )
    }


def entry_digest(item) -> str:
    return content_digest(json.loads(item.raw))


def test_two_entries_of_one_document_under_one_guid_are_two_messages():
    document = read("repeated-guid.rss")

    read_as = messages_by_title(document)
    first, second = read_as["First review"], read_as["Second review"]
    apart = next(item for item in document.items if b"Second review" in item.raw)

    # The older one keeps the guid (a feed that held it alone before gave it that id); the
    # later one is keyed apart by a digest of what it says.
    assert first.message_id == "https://ex.com/dup"
    assert second.message_id == f"https://ex.com/dup#entry-{entry_digest(apart)}"
    assert apart.source_id == second.message_id
    assert apart.metadata["repeat"] == entry_digest(apart)
    assert (first.text, second.text) == ("Crashes on start, terrible", "Lovely app, five stars")
    assert read_as["Third review"].message_id == "https://ex.com/third"
    assert len({item.source_id for item in document.items}) == 3
    assert document.repeats == {"https://ex.com/dup": entry_digest(document.items[-1])}


def test_the_older_entry_keeps_a_shared_guid_whichever_order_the_feed_lists_them_in():
    body = fixture_bytes("feed", "repeated-guid.rss")
    items = re.findall(rb"<item>.*?</item>", body, flags=re.S)
    start, end = body.index(items[0]), body.index(items[-1]) + len(items[-1])
    newest_first = body[:start] + b"\n".join(reversed(items)) + body[end:]
    assert newest_first.index(b"Third review") < newest_first.index(b"First review")

    as_listed, reversed_ = messages_by_title(read(body)), messages_by_title(read(newest_first))

    assert {t: m.message_id for t, m in as_listed.items()} == {
        t: m.message_id for t, m in reversed_.items()
    }
    assert as_listed["First review"].message_id == "https://ex.com/dup"


def test_two_entries_of_one_document_under_one_link_without_a_date_are_two_messages():
    document = read("repeated-link.rss")

    read_as = messages_by_title(document)

    # Newest first, as review feeds list them: read from its end, the older one comes first
    # and keeps the key.
    assert read_as["One star"].message_id == APP_PAGE
    assert read_as["Five stars"].message_id.startswith(f"{APP_PAGE}#entry-")
    assert read_as["Five stars"].text == "Lovely app, the handwriting search is spot on."
    assert read_as["One star"].text == "Crashes on start since the update, terrible."
    assert [item.source_id for item in document.items] == [
        APP_PAGE,
        read_as["Five stars"].message_id,
    ]


@pytest.mark.parametrize("name", ["repeated-guid.rss", "repeated-link.rss"])
def test_the_same_document_read_again_keys_each_entry_as_before(name):
    first = read(name)

    again, remembered = read(name), read(name, repeats=first.repeats)

    for document in (again, remembered):
        assert [(i.source_id, i.raw, i.metadata) for i in document.items] == [
            (i.source_id, i.raw, i.metadata) for i in first.items
        ]
        assert document.repeats == first.repeats


def test_an_entry_keyed_apart_keeps_its_key_once_the_one_that_kept_the_key_has_left():
    before = read("repeated-guid.rss")

    later = read("repeated-guid-later.rss", repeats=before.repeats)

    apart = {item.source_id for item in before.items} - {"https://ex.com/dup"}
    # The second review is the same payload under the same source id (stored once), the
    # fourth one is keyed apart too: the guid stays the first review's, so neither revises it.
    assert apart < {item.source_id for item in later.items}
    assert "https://ex.com/dup" not in {item.source_id for item in later.items}
    read_as = messages_by_title(later)
    assert read_as["Fourth review"].message_id.startswith("https://ex.com/dup#entry-")
    assert later.repeats == before.repeats


def test_a_shared_key_no_longer_in_the_feed_is_forgotten():
    before = read("repeated-guid.rss")

    later = read("reviews.rss", repeats=before.repeats)

    assert later.repeats == {}


def test_a_bare_guid_shared_in_a_feed_polled_before_keeps_the_entries_apart(connector, fake_web):
    body = fixture_bytes("feed", "repeated-guid.rss").replace(b"https://ex.com/dup", b"dup-1")
    fake_web.route("GET", "/feeds/r.rss", Reply(200, body, {"Content-Type": RSS}))
    config = {"url": fake_web.url + "/feeds/r.rss"}

    # The cursor an earlier version left: the entries keep their earlier ids, still apart.
    items, cursor = fetch_all(connector, config, {"digest": "0" * 64})

    message_ids = sorted(parse(connector, item).message_id for item in items)
    apart = next(item for item in items if b"Second review" in item.raw)
    assert message_ids == [
        f"{fake_web.url}/feeds/dup-1",
        f"{fake_web.url}/feeds/dup-1#entry-{entry_digest(apart)}",
        "https://ex.com/third",
    ]
    assert apart.metadata == {"repeat": entry_digest(apart)}
    assert cursor["repeats"] == {f"{fake_web.url}/feeds/dup-1": entry_digest(items[-1])}


def test_the_cursor_remembers_a_shared_key_until_the_next_document(connector, fake_web):
    config = serve(fake_web, "repeated-link.rss")
    first, cursor = fetch_all(connector, config)
    fake_web.route(
        "GET",
        "/feed.xml",
        Reply(200, fixture_bytes("feed", "repeated-link-later.rss"), {"Content-Type": RSS}),
    )

    later, later_cursor = fetch_all(connector, config, json.loads(json.dumps(cursor)))

    kept = entry_digest(first[0])
    assert cursor["repeats"] == later_cursor["repeats"] == {APP_PAGE: kept}
    # "One star" has left; "Five stars" keeps its own key instead of taking the page's over.
    assert first[1].source_id in {item.source_id for item in later}
    assert APP_PAGE not in {item.source_id for item in later}


def test_a_document_handed_out_in_batches_keys_its_entries_by_the_cursor_it_began_with(
    connector, fake_web
):
    config = serve(fake_web, "repeated-link.rss")
    _, cursor = fetch_all(connector, config)
    fake_web.route(
        "GET",
        "/feed.xml",
        Reply(200, fixture_bytes("feed", "repeated-link-later.rss"), {"Content-Type": RSS}),
    )

    first = connector.fetch(config, cursor, limit=1)
    # Another process: the document fetched again, read with the cursor's memory.
    second = FeedConnector().fetch(config, json.loads(json.dumps(first.cursor)), limit=1)

    whole, _ = fetch_all(FeedConnector(), config, cursor)
    assert [i.source_id for i in first.items + second.items] == [i.source_id for i in whole]
    assert APP_PAGE not in {i.source_id for i in whole}


# --- fetch ----------------------------------------------------------------------------------


def test_a_second_fetch_is_conditional_and_a_304_brings_nothing(connector, fake_web):
    config = serve(
        fake_web, "reviews.rss", ETag='"v1"', **{"Last-Modified": "Tue, 03 Mar 2026 10:15:00 GMT"}
    )
    items, cursor = fetch_all(connector, config)
    fake_web.queue("GET", "/feed.xml", Reply(304))

    result = connector.fetch(config, cursor)

    assert len(items) == 3
    assert (cursor["etag"], cursor["modified"]) == ('"v1"', "Tue, 03 Mar 2026 10:15:00 GMT")
    conditional = fake_web.requests_to("/feed.xml")[-1]
    assert conditional.headers["If-None-Match"] == '"v1"'
    assert conditional.headers["If-Modified-Since"] == "Tue, 03 Mar 2026 10:15:00 GMT"
    assert (result.items, result.cursor, result.more) == ([], cursor, False)


def test_the_same_bytes_from_a_server_without_304_bring_nothing(connector, fake_web):
    config = serve(fake_web, "reviews.rss")
    _, cursor = fetch_all(connector, config)

    items, again = fetch_all(connector, config, cursor)

    assert items == []
    assert again["digest"] == cursor["digest"]


def test_basic_credentials_are_sent_when_set(connector, fake_web):
    config = {**serve(fake_web, "reviews.rss"), "username": "reader", "password": "s3cret"}

    fetch_all(connector, config)

    expected = "Basic " + base64.b64encode(b"reader:s3cret").decode()
    assert fake_web.requests_to("/feed.xml")[0].headers["Authorization"] == expected


def test_a_large_document_is_fetched_once_and_handed_out_in_batches(connector, fake_web):
    config = serve(fake_web, "reviews.rss", ETag='"v1"')

    first = connector.fetch(config, None, limit=2)
    second = connector.fetch(config, first.cursor, limit=2)

    assert (len(first.items), first.more, first.cursor["pending"]["offset"]) == (2, True, 2)
    assert (len(second.items), second.more, "pending" not in second.cursor) == (1, False, True)
    assert second.cursor["etag"] == '"v1"'
    assert len(fake_web.requests_to("/feed.xml")) == 1


def test_a_batch_resumes_from_the_cursor_in_another_process(connector, fake_web):
    config = serve(fake_web, "reviews.rss")
    first = connector.fetch(config, None, limit=2)

    # Another process: nothing in memory, so the document is fetched again (unconditionally).
    second = FeedConnector().fetch(config, json.loads(json.dumps(first.cursor)), limit=2)

    assert [i.source_id for i in first.items + second.items] == [
        "review-88090",
        "review-88102",
        "review-88127",
    ]
    assert "If-None-Match" not in fake_web.requests_to("/feed.xml")[1].headers


def test_a_batch_stays_under_its_byte_cap_unless_one_entry_is_larger(connector, fake_web):
    config = serve(fake_web, "reviews.rss")

    result = connector.fetch(config, None, max_bytes=1)

    assert (len(result.items), result.more) == (1, True)


def test_a_malformed_document_is_one_payload_that_parse_quarantines(connector, fake_web):
    config = serve(fake_web, "malformed.xml")

    items, cursor = fetch_all(connector, config)

    body = fixture_bytes("feed", "malformed.xml")
    assert [item.source_id for item in items] == [f"document:{hashlib.sha256(body).hexdigest()}"]
    assert items[0].raw == body
    with pytest.raises(UnparseableMessage) as refused:
        parse(connector, items[0])
    assert refused.value.reason == DOCUMENT_UNREADABLE.format(error=items[0].metadata["error"])
    assert "unclosed token" in refused.value.reason
    assert cursor["digest"] == hashlib.sha256(body).hexdigest()


def test_a_404_says_there_is_no_feed_and_is_not_retried_soon(connector, fake_web):
    with pytest.raises(ConnectorError) as failed:
        connector.fetch({"url": fake_web.url + "/gone.xml"}, None)

    assert failed.value.message == FEED_NOT_FOUND.format(url=fake_web.url + "/gone.xml")
    assert not failed.value.retryable


def test_a_login_refused_says_which_setting_to_fix(connector, fake_web):
    fake_web.route("GET", "/private.xml", Reply(401))
    url = fake_web.url + "/private.xml"

    with pytest.raises(ConnectorError) as anonymous:
        connector.fetch({"url": url}, None)
    with pytest.raises(ConnectorError) as wrong:
        connector.fetch({"url": url, "username": "a", "password": "b"}, None)

    assert anonymous.value.message == FEED_LOCKED.format(host="127.0.0.1", status=401)
    assert wrong.value.message == FEED_REFUSED_LOGIN.format(host="127.0.0.1", status=401)
    assert not anonymous.value.retryable and not wrong.value.retryable


def test_a_429_carries_the_wait_the_server_asked_for(connector, fake_web):
    config = serve(fake_web, "reviews.rss")
    fake_web.queue("GET", "/feed.xml", Reply(429, headers={"Retry-After": "120"}))

    with pytest.raises(ConnectorError) as failed:
        connector.fetch(config, None)

    assert failed.value.retryable and failed.value.retry_after == 120
    assert failed.value.message == RATE_LIMITED.format(host="127.0.0.1", status=429, seconds=120)


def test_a_5xx_is_retryable(connector, fake_web):
    config = serve(fake_web, "reviews.rss")
    fake_web.queue("GET", "/feed.xml", Reply(502))

    with pytest.raises(ConnectorError) as failed:
        connector.fetch(config, None)

    assert failed.value.retryable
    assert failed.value.message == SERVER_ERROR.format(host="127.0.0.1", status=502)


def test_an_html_page_is_no_feed_and_the_error_names_the_feed_it_links(connector, fake_web):
    page = (
        b'<!DOCTYPE html><html><head><link rel="alternate" type="application/rss+xml" '
        b'href="/reviews.rss"></head><body>Reviews</body></html>'
    )
    fake_web.route("GET", "/app", Reply(200, page, {"Content-Type": "text/html"}))
    url = fake_web.url + "/app"

    with pytest.raises(ConnectorError) as failed:
        connector.fetch({"url": url}, None)

    linked = FEED_LINKED.format(feed=fake_web.url + "/reviews.rss")
    assert failed.value.message == NOT_A_FEED_HTML.format(url=url) + linked
    assert not failed.value.retryable


def test_a_document_of_another_kind_is_no_feed(connector, fake_web):
    fake_web.route("GET", "/data.json", Reply.json({"reviews": []}))
    url = fake_web.url + "/data.json"

    with pytest.raises(ConnectorError) as failed:
        connector.fetch({"url": url}, None)

    assert failed.value.message == NOT_A_FEED.format(url=url)


# --- check ----------------------------------------------------------------------------------


def test_the_check_names_the_feed_and_counts_its_entries(connector, fake_web):
    config = serve(fake_web, "reviews.rss")

    result = connector.check(config)

    assert result.ok
    assert result.message == CHECK_OK.format(
        title=repr("Haddad Notes — customer reviews"), entries="3 entries"
    )


def test_the_check_of_a_missing_feed_says_404(connector, fake_web):
    result = connector.check({"url": fake_web.url + "/nothing.xml"})

    assert not result.ok
    assert result.message == FEED_NOT_FOUND.format(url=fake_web.url + "/nothing.xml")


def test_the_check_of_a_malformed_feed_says_it_is_not_well_formed(connector, fake_web):
    result = connector.check(serve(fake_web, "malformed.xml"))

    assert not result.ok
    assert "not well-formed XML" in result.message and "0 entries" in result.message


def test_the_check_of_a_bad_config_says_which_setting(connector):
    result = connector.check({"url": "http://example.com/feed"})

    assert (result.ok, result.message) == (False, URL_PLAINTEXT)
