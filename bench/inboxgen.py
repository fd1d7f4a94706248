"""The inbox benchmark's data: feedback items over many teams, bulk-loaded with ``COPY``.

Fifty teams (one holding ``largest`` items, the rest shared out by a falling weight), each with
agents, five channels and a dozen coloured tags; accounts and customers (a few write often,
most rarely); every item with a customer message, some with our reply, the customer's answer
and an internal note; statuses, priorities (a few escalated), assignees, tags, sentiment,
service-level due times and a few snoozed. Texts are sentences about a product's features, so
that full-text search has words to find. ``search_document`` is written by the services' own
``search_document_of`` from the same texts (subject, then the customer-visible messages in
order), and a sample is checked against ``item_search_document_refresh`` after loading.

Loading drops the big tables' secondary indexes, copies the rows in with foreign-key triggers
off (the rows are generated consistent; ``session_replication_role = replica``), rebuilds the
indexes from their own definitions, and leaves ``VACUUM ANALYZE`` to the caller. A comment on
the items table names the volume loaded, so that a run with the same volume reuses it.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SEED = 20261210
# Bumped when the generated data changes, so that a cached volume is reloaded.
GENERATION = 1
START = datetime(2025, 12, 1, tzinfo=UTC)
SPAN = timedelta(days=365)
AGENTS_PER_TEAM = 8
TAGS = (
    "billing", "bug", "feature-request", "login", "mobile", "export", "performance",
    "onboarding", "integration", "refund", "security", "docs",
)  # fmt: skip
COLOURS = ("#d93f0b", "#0e8a16", "#1d76db", "#fbca04", "#5319e7", "#b60205")
CHANNEL_KINDS = ("imap", "widget", "feed", "discourse", "mastodon")
FEATURES = (
    "dashboard", "calendar sync", "invoice", "mobile app", "report builder", "CSV export",
    "two-factor login", "webhook", "API token", "billing page", "team settings",
    "notification", "search", "dark mode", "offline mode", "checkout", "password reset",
    "CSV import", "Slack integration", "audit log", "user roles", "single sign-on",
    "PDF export", "time tracking", "kanban board", "file upload", "email digest",
    "Android app", "iPad app", "desktop client", "Outlook plugin", "Zapier connector",
    "data retention", "custom fields", "public API", "subscription", "receipt",
    "payment method", "shared inbox", "tag filter", "chart", "spreadsheet view",
)  # fmt: skip
SUBJECTS = (
    "{Feature} broken after the update",
    "Invoice {n} charged twice",
    "Cannot log in to the {feature}",
    "Question about the {feature}",
    "{Feature} fails with a timeout",
    "Refund for order {n}",
    "Feature request: {feature} for larger teams",
    "{Feature} is slow since {day}",
    "How do I turn off the {feature}?",
    "{Feature} shows the wrong numbers",
    "Cancel my subscription",
    "Love the new {feature}!",
)
SENTENCES = (
    "Since the update on {day} the {feature} keeps failing for our whole team.",
    "Every time we open the {feature} it takes more than a minute to load.",
    "Could you please have a look as soon as possible?",
    "Our customers are starting to complain about the {feature}.",
    "We already tried clearing the cache and restarting, which did not help.",
    "This worked fine until last week.",
    "The {feature} shows a timeout error after about thirty seconds.",
    "Please refund the second charge on invoice {n}.",
    "The numbers in the {feature} do not match the invoice.",
    "Nobody on our team can sign in since this morning.",
    "I wrote to support last week and nobody answered.",
    "Is there a way to connect the {feature} with the {feature2}?",
    "It would be great if the {feature} could export to Excel.",
    "We pay for the enterprise plan and expect a faster answer.",
    "The {feature} crashes on Android when the battery saver is on.",
    "Thanks in advance for your help, we really appreciate it.",
    "Our accountant needs a corrected invoice with the VAT number.",
    "The {feature} deleted some of our data without warning.",
    "Can you tell me when the {feature} will be available?",
    "Your new {feature} saved us hours this week, thank you!",
    "The page freezes when I scroll through a long list.",
    "We would like to upgrade to the annual subscription.",
    "Two of my colleagues get a permission error in the {feature}.",
    "The mobile app logs me out every few minutes.",
)
REPLIES = (
    "Thank you for reporting this; we are looking into the {feature} now.",
    "Sorry for the trouble. A fix for the {feature} ships this week.",
    "We refunded the duplicate charge; it shows on your statement in a few days.",
    "Could you send us a screenshot of the error in the {feature}?",
)
NOTES = ("Customer is on the enterprise plan; check the {feature} logs.", "Asked engineering.")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
STATUSES = (("new", 15), ("open", 25), ("waiting", 15), ("resolved", 40), ("spam", 5))
PRIORITIES = (("normal", 90), ("high", 7), ("urgent", 3))
SENTIMENTS = (("positive", 20), ("neutral", 45), ("negative", 30), ("", 5))
TIERS = (("standard", 90), ("priority", 8), ("vip", 2))
TAG_COUNTS = ((0, 40), (1, 35), (2, 20), (3, 5))
FIRST_NAMES = (
    "Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Greta", "Hugo", "Ida", "Jonas",
    "Klara", "Leon", "Mia", "Noah", "Olivia", "Paul", "Rosa", "Sam", "Tara", "Umar",
)  # fmt: skip
LAST_NAMES = (
    "Meyer", "Schmidt", "Jansen", "Smith", "Dubois", "Rossi", "Nowak", "Berg",
    "Larsen", "Walsh", "Novak", "Santos", "Keller", "Brown", "Visser", "Moreau",
)  # fmt: skip


@dataclass(frozen=True)
class Volume:
    items: int
    teams: int
    largest: int
    accounts: int
    customers: int

    @property
    def label(self) -> str:
        return (
            f"bench-inbox g{GENERATION} items={self.items} teams={self.teams} "
            f"largest={self.largest} customers={self.customers}"
        )


FULL = Volume(items=1_000_000, teams=50, largest=100_000, accounts=20_000, customers=200_000)
QUICK = Volume(items=30_000, teams=5, largest=12_000, accounts=500, customers=5_000)


def team_sizes(volume: Volume) -> list[int]:
    """The largest team first, the others by a weight falling with their rank."""
    rest = volume.items - volume.largest
    weights = [1 / (rank + 1) ** 0.5 for rank in range(1, volume.teams)]
    sizes = [int(rest * weight / sum(weights)) for weight in weights]
    sizes[0] += rest - sum(sizes)
    return [volume.largest, *sizes]


def _table(pairs) -> tuple[list, list[int]]:
    values, weights = zip(*pairs, strict=True)
    cumulative, total = [], 0
    for weight in weights:
        total += weight
        cumulative.append(total)
    return list(values), cumulative


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "")


class _Copy:
    """Rows for one table, sent with ``COPY`` every ``chunk`` rows."""

    def __init__(self, cursor, table: str, columns: str, chunk: int = 50_000) -> None:
        self.cursor, self.table, self.columns, self.chunk = cursor, table, columns, chunk
        self.buffer, self.count = io.StringIO(), 0

    def add(self, *values) -> None:
        self.buffer.write("\t".join(map(_copy_value, values)) + "\n")
        self.count += 1
        if self.count % self.chunk == 0:
            self.flush()

    def flush(self) -> None:
        self.buffer.seek(0)
        self.cursor.copy_expert(f"COPY {self.table} ({self.columns}) FROM STDIN", self.buffer)
        self.buffer = io.StringIO()


ITEM_COLUMNS = (
    "id, team_id, subject, status, external_id, first_message_at, last_message_at, created_at, "
    "updated_at, channel_id, customer_id, sentiment, sentiment_score, assignee_id, "
    "escalated_at, first_responded_at, first_response_breached_at, first_response_due_at, "
    "priority, priority_manual, priority_reason, resolution_breached_at, resolution_due_at, "
    "resolved_at, search_document, snoozed_until"
)
MESSAGE_COLUMNS = (
    "id, team_id, item_id, channel_id, direction, lane, lane_reason, external_id, identity_hash, "
    'in_reply_to, "references", original_message_id, sender_name, sender, reply_to, "to", cc, '
    "subject, text, quoted_text, signature, html, defects, sent_at, received_at, thread_reason, "
    "created_at, external_url, sender_handle, sentiment, author_id, delivery, "
    "delivery_attempts, delivery_error, is_note"
)


class Loader:
    def __init__(self, cursor, volume: Volume) -> None:
        self.cursor, self.volume = cursor, volume
        self.rng = random.Random(SEED)
        self.statuses = _table(STATUSES)
        self.priorities = _table(PRIORITIES)
        self.sentiments = _table(SENTIMENTS)
        self.tag_counts = _table(TAG_COUNTS)

    def _pick(self, table) -> str:
        values, cumulative = table
        return self.rng.choices(values, cum_weights=cumulative)[0]

    def _sentence(self, template: str) -> str:
        rng = self.rng
        feature = rng.choice(FEATURES)
        return template.format(
            feature=feature,
            Feature=feature[:1].upper() + feature[1:],
            feature2=rng.choice(FEATURES),
            n=rng.randint(10_000, 99_999),
            day=rng.choice(DAYS),
        )

    def _text(self, low: int = 2, high: int = 5) -> str:
        picked = self.rng.sample(SENTENCES, self.rng.randint(low, high))
        return " ".join(self._sentence(sentence) for sentence in picked)

    def teams(self) -> list[dict]:
        """Teams, their agents (members of that team only), channels and tags."""
        cur, now = self.cursor, START
        teams = []
        for number in range(self.volume.teams):
            slug = f"inbox-bench-{number:02d}"
            cur.execute(
                "INSERT INTO portal_team (name, name_key, slug, mission, created_at) "
                "VALUES (%s, %s, %s, '', %s) RETURNING id",
                [f"Inbox bench {number:02d}", f"inbox bench {number:02d}", slug, now],
            )
            team_id = cur.fetchone()[0]
            agents = []
            for index in range(AGENTS_PER_TEAM):
                name = f"{FIRST_NAMES[index]} {LAST_NAMES[number % len(LAST_NAMES)]}"
                cur.execute(
                    "INSERT INTO auth_user (username, password, first_name, last_name, email, "
                    "is_superuser, is_staff, is_active, date_joined) VALUES "
                    "(%s, '!bench', %s, %s, %s, false, false, true, %s) RETURNING id",
                    [
                        f"agent{index}-{slug}",
                        *name.split(),
                        f"agent{index}@{slug}.example",
                        now,
                    ],
                )
                agents.append(cur.fetchone()[0])
                cur.execute(
                    "INSERT INTO portal_membership (team_id, user_id, role, created_at) "
                    "VALUES (%s, %s, %s, %s)",
                    [team_id, agents[-1], "lead" if index == 7 else "agent", now],
                )
            channels = []
            for kind in CHANNEL_KINDS:
                cur.execute(
                    "INSERT INTO feedback_channel (team_id, kind, name, name_key, "
                    "config_encrypted, address, public_key, poll_interval, enabled, "
                    "lease_owner, last_error, error_streak, healthy, created_at, updated_at) "
                    "VALUES (%s, %s, %s, %s, '', '', '', 60, false, '', '', 0, true, %s, %s) "
                    "RETURNING id",
                    [team_id, kind, kind.title(), kind, now, now],
                )
                channels.append(cur.fetchone()[0])
            tags = []
            for index, tag in enumerate(TAGS):
                cur.execute(
                    "INSERT INTO feedback_tag (team_id, name, name_key, colour) "
                    "VALUES (%s, %s, %s, %s) RETURNING id",
                    [team_id, tag, tag, COLOURS[index % len(COLOURS)]],
                )
                tags.append(cur.fetchone()[0])
            teams.append(
                {"id": team_id, "slug": slug, "agents": agents, "channels": channels, "tags": tags}
            )
        return teams

    def customers(self) -> list[int]:
        """Accounts and customers; the customers' ids."""
        rng, volume = self.rng, self.volume
        accounts = _Copy(
            self.cursor,
            "portal_account",
            "id, external_id, name, name_key, plan, segment, mrr, created_at, updated_at",
        )
        for number in range(1, volume.accounts + 1):
            name = f"{rng.choice(LAST_NAMES)} {rng.choice(('Group', 'Ltd', 'GmbH'))} {number}"
            plan = rng.choice(("starter", "starter", "growth", "enterprise"))
            segment = {"starter": "smb", "growth": "mid_market"}.get(plan, "enterprise")
            mrr = f"{rng.randint(2_900, 4_000_000) / 100:.2f}"
            accounts.add(number, "", name, name.casefold(), plan, segment, mrr, START, START)
        accounts.flush()
        tiers = _table(TIERS)
        customers = _Copy(
            self.cursor,
            "portal_customer",
            "id, external_id, name, email, email_key, tier, attributes, created_at, "
            "updated_at, account_id",
        )
        for number in range(1, volume.customers + 1):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            account = rng.randint(1, volume.accounts) if rng.random() > 0.05 else None
            domain = f"company{account}.example" if account else "mail.example"
            email = f"{first}.{last}.{number}@{domain}".lower()
            tier = self._pick(tiers)
            customers.add(
                number, "", f"{first} {last}", email, email, tier, "{}", START, START, account
            )
        customers.flush()
        for table in ("portal_account", "portal_customer"):
            self.cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        return list(range(1, volume.customers + 1))

    def items(self, teams: list[dict], customer_ids: list[int], now: datetime) -> None:
        """Items, messages and tags, in the order they arrived (ids grow with time)."""
        from feedback.services.search_document import search_document_of

        rng, volume = self.rng, self.volume
        order = [index for index, size in enumerate(team_sizes(volume)) for _ in range(size)]
        rng.shuffle(order)
        # A few customers write often, most rarely (Pareto, capped).
        weights, total = [], 0.0
        for _ in customer_ids:
            total += min(rng.paretovariate(1.5), 100)
            weights.append(total)
        items = _Copy(self.cursor, "feedback_feedbackitem", ITEM_COLUMNS)
        messages = _Copy(self.cursor, "feedback_message", MESSAGE_COLUMNS)
        tagged = _Copy(self.cursor, "feedback_feedbackitem_tags", "feedbackitem_id, tag_id")
        step = SPAN / len(order)
        message_id = 0
        for item_id, team_index in enumerate(order, start=1):
            team = teams[team_index]
            when = START + step * item_id + timedelta(seconds=rng.randint(0, 59))
            customer = rng.choices(customer_ids, cum_weights=weights)[0]
            channel = rng.choice(team["channels"]) if rng.random() > 0.1 else None
            status = self._pick(self.statuses)
            priority = self._pick(self.priorities)
            subject = self._sentence(rng.choice(SUBJECTS))
            agent = rng.choice(team["agents"])
            # (direction, minutes after, text, is_note)
            conversation = [("in", 0, self._text(), False)]
            if status in ("waiting", "resolved") or rng.random() < 0.2:
                reply = self._sentence(rng.choice(REPLIES))
                conversation.append(("out", rng.randint(10, 2_000), reply, False))
            if rng.random() < 0.2:
                conversation.append(
                    ("in", conversation[-1][1] + rng.randint(5, 600), self._text(1, 3), False)
                )
            if rng.random() < 0.05:
                conversation.append(
                    ("out", conversation[-1][1] + 3, self._sentence(rng.choice(NOTES)), True)
                )
            last = when + timedelta(minutes=conversation[-1][1])
            visible = []
            for number, (direction, minutes, text, note) in enumerate(conversation):
                message_id += 1
                sent = when + timedelta(minutes=minutes)
                inbound = direction == "in"
                messages.add(
                    message_id, team["id"], item_id, channel, direction, "customer", "",
                    f"<m{item_id}.{number}@bench.example>", f"{item_id:016x}{number:04x}",
                    "", "[]", "", "" if not inbound else "Customer", "", "", "[]", "[]",
                    subject if number == 0 else f"Re: {subject}", text, "", "", "", "[]",
                    sent, sent, "new" if number == 0 else "in-reply-to", sent, "", "", "",
                    None if inbound else agent, "" if inbound or note else "sent", 0, "", note,
                )  # fmt: skip
                if not note:
                    visible.append(text)
            # Our first reply (not a note): the first response.
            answers = [minutes for direction, minutes, _, note in conversation[1:]
                       if direction == "out" and not note]  # fmt: skip
            replied = when + timedelta(minutes=answers[0]) if answers else None
            open_ = status not in ("resolved", "spam")
            due_hours = {"urgent": 1, "high": 4}.get(priority)
            first_due = when + timedelta(hours=due_hours) if due_hours and open_ else None
            resolution_due = when + timedelta(hours=due_hours * 8) if due_hours and open_ else None
            escalated = last if priority != "normal" and open_ and rng.random() < 0.2 else None
            snoozed = (
                now + timedelta(days=365) if status == "waiting" and rng.random() < 0.1 else None
            )
            reason = {"urgent": "VIP customer", "high": "plan Enterprise"}.get(priority, "")
            items.add(
                item_id, team["id"], subject, status, "", when, last, when, last, channel,
                customer, self._pick(self.sentiments), None,
                agent if rng.random() < 0.7 else None, escalated, replied,
                first_due if escalated and not replied else None, first_due, priority, False,
                reason, None, resolution_due, last if status == "resolved" else None,
                search_document_of(subject, visible), snoozed,
            )  # fmt: skip
            for tag in rng.sample(team["tags"], self._pick(self.tag_counts)):
                tagged.add(item_id, tag)
        for copy in (items, messages, tagged):
            copy.flush()
        for table in ("feedback_feedbackitem", "feedback_message", "feedback_feedbackitem_tags"):
            self.cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )


BIG_TABLES = ("feedback_feedbackitem", "feedback_message", "feedback_feedbackitem_tags")


def _secondary_indexes(cursor) -> list[tuple[str, str]]:
    """The big tables' indexes that no constraint owns: (name, definition)."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname "
        "NOT IN (SELECT conname FROM pg_constraint)",
        [list(BIG_TABLES)],
    )
    return cursor.fetchall()


def loaded_label(cursor) -> str | None:
    cursor.execute("SELECT obj_description('feedback_feedbackitem'::regclass, 'pg_class')")
    return cursor.fetchone()[0]


def load(connection, volume: Volume, now: datetime) -> None:
    """Replace everything the benchmark reads with ``volume``'s rows (one transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE feedback_feedbackitem, feedback_message, feedback_tag, feedback_channel, "
            "portal_customer, portal_account, portal_membership, portal_team, auth_user "
            "RESTART IDENTITY CASCADE"
        )
        indexes = _secondary_indexes(cursor)
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL session_replication_role = replica")
        loader = Loader(cursor, volume)
        teams = loader.teams()
        loader.items(teams, loader.customers(), now)
        cursor.execute("SET LOCAL session_replication_role = origin")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("COMMENT ON TABLE feedback_feedbackitem IS %s", [volume.label])
    connection.commit()
