"""Customer Care's inbox as a team that works in it leaves it (the demo part "inbox work"):
tags with colours, the team's response templates and a shared one, saved views, and the items
triaged by the demo's agents — older conversations resolved, the recent ones new, open or
waiting on the customer, a few snoozed, replies sent from the templates, internal notes, two
spam mails — all through the services a person's clicks take, so the history of every item
names the agent who did it. The part ends with one run of the SLA breach task, so the
priority customers nobody answered in time show escalated at the top of the inbox.

Dates: the agents work on an item after its latest message and before yesterday began (as the
mail arrives before then); only the snoozes wake after the seed (later today, next week), and
the audit log and the breach task date what they record at the time of the seed run.

Replies: ``reply_send`` stores each reply queued and queues its task after the commit. The
demo's customers are fictional, with addresses on reserved example domains, so the demo
delivers its replies here, in the seeding process, through Django's in-memory backend
whatever ``EMAIL_URL`` names: nothing leaves the machine, the replies show as sent, and the
tasks queued after the commit find them sent and do nothing. One reply is delivered through a
mail server that refuses the connection, so the item shows a failed reply and its retry (a
retry in the demo goes through the configured backend: the console in ``make run``).

Built once like every demo part; items people already triaged (not new, assigned or tagged)
are left as they are, and tags, templates and views that exist under their names are kept.
"""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from itertools import cycle

from django.core.mail.backends.base import BaseEmailBackend
from django.test.utils import override_settings
from django.utils import timezone

from feedback.demo import inbox_content as content
from feedback.demo.mime import address, mail
from feedback.demo.seed import SUPPORT_ADDRESS, TEAM_SLUG, WEBHOOK_CHANNEL
from feedback.models import (
    Channel,
    Direction,
    FeedbackItem,
    ItemPriority,
    ItemStatus,
    Message,
    ResponseTemplate,
    SavedView,
    Tag,
)
from feedback.services import messages_sentiment_score, payload_parse, payload_receive
from feedback.services.replies import (
    note_add,
    reply_deliver,
    reply_recipient,
    reply_render,
    reply_send,
)
from feedback.services.saved_views import saved_view_create
from feedback.services.sla import sla_breaches_mark
from feedback.services.tags import tag_create
from feedback.services.templates import template_create
from feedback.services.triage import item_update
from portal import access
from portal.demo.data import SEED
from portal.demo.parts import DemoContext
from portal.fields import normalised_key
from portal.models import Role, Team

WORK_SEED = SEED + 10
# Items whose latest message came this many days before the work ends are still being worked
# on; older conversations are resolved.
ACTIVE_DAYS = 14
# The agents, with how much of the inbox each handles; the lead answers too.
AGENTS = (("agent", 5), ("maya", 3), ("lead", 2))
# Replies on a few older items, before they were resolved.
OLD_REPLIES = 4
# Active priority items nobody answered: they breach their first response and escalate.
UNANSWERED_PRIORITY = 3
MEMORY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REFUSING_BACKEND = f"{__name__}.RefusingMailServer"
PRIORITY = (ItemPriority.HIGH, ItemPriority.URGENT)


class RefusingMailServer(BaseEmailBackend):
    """A mail server that is down: the one failed reply of the demo goes through it."""

    def send_messages(self, email_messages) -> int:
        raise ConnectionRefusedError(111, "Connection refused")


@contextmanager
def _mail_backend(path: str) -> Iterator[None]:
    """``reply_deliver`` sends through the settings' backend, read at each send: the demo
    names its own for its fictional customers (see the module's docstring)."""
    with override_settings(EMAIL_BACKEND=path):
        yield


def work_end(ctx: DemoContext) -> datetime:
    """When the agents' work ends: as the demo's mail, before yesterday began (UTC)."""
    return datetime.combine(ctx.today - timedelta(days=1), time(), tzinfo=UTC)


def item_tag_names(subject: str) -> list[str]:
    subject = subject.lower()
    return [name for name, words in content.TAG_WORDS.items() if any(w in subject for w in words)]


def _first_with(names: list[str], table: dict, default):
    return next((table[name] for name in names if name in table), default)


class _Work:
    def __init__(self, ctx: DemoContext, team: Team) -> None:
        self.ctx, self.team = ctx, team
        self.rng = random.Random(WORK_SEED)
        self.end = work_end(ctx)
        # The demo's agents who still may work on the team's items (people change roles).
        self.agents = [
            (ctx.users[name], weight)
            for name, weight in AGENTS
            if name in ctx.users and access.has_team_role(ctx.users[name], team, Role.AGENT)
        ]
        self.tags: dict[str, Tag] = {}
        self.templates: dict[str, ResponseTemplate] = {}
        # The snoozes still to give (the first open items get them), and whether the one
        # failed reply was sent.
        self.snoozes: list[datetime] = []
        self.failed = False
        # Items support answered before, and those whose latest message is that answer.
        self.answered: set[int] = set()
        self.ours_last: set[int] = set()

    def note(self, kind: str, outcome: str = "created") -> None:
        self.ctx.report.note(kind, outcome)

    # The team's settings ----------------------------------------------------------------------

    def ensure_tags(self) -> None:
        existing = {tag.name_key: tag for tag in Tag.objects.filter(team=self.team)}
        for name, colour in content.TAGS.items():
            tag = existing.get(normalised_key(name))
            if tag is None:
                tag = tag_create(actor=self.lead, team=self.team, name=name, colour=colour)
                self.note("tags")
            else:
                self.note("tags", "kept")
            self.tags[name] = tag

    def ensure_templates(self) -> None:
        wanted = [(self.team, *spec) for spec in content.TEAM_TEMPLATES]
        wanted.append((None, *content.SHARED_TEMPLATE))
        for team, key, name, subject, body in wanted:
            template = ResponseTemplate.objects.filter(
                team=team, name_key=normalised_key(name)
            ).first()
            if template is None:
                actor = self.ctx.actor if team is None else self.lead
                template = template_create(
                    actor=actor, team=team, name=name, subject=subject, body=body
                )
                self.note("response templates")
            else:
                self.note("response templates", "kept")
            self.templates[key] = template

    def ensure_views(self) -> None:
        views = [(None, content.SHARED_VIEW)]
        agent = self.ctx.users.get("agent")
        if agent is not None and access.has_team_role(agent, self.team, Role.AGENT):
            views.insert(0, (agent, content.AGENT_VIEW))
        for owner, (name, params) in views:
            if SavedView.objects.filter(team=self.team, owner=owner, name=name).exists():
                self.note("saved views", "kept")
                continue
            saved_view_create(
                actor=owner or self.lead,
                team=self.team,
                name=name,
                params=params,
                shared=owner is None,
            )
            self.note("saved views")

    @property
    def lead(self):
        """The demo's lead manages the tags, templates and shared views; the demo superuser
        when that login is gone or no longer a lead of the team."""
        lead = self.ctx.users.get("lead")
        if lead is not None and access.has_team_role(lead, self.team, Role.LEAD):
            return lead
        return self.ctx.actor

    # The items --------------------------------------------------------------------------------

    def pick_agent(self):
        people, weights = zip(*self.agents, strict=True)
        return self.rng.choices(people, weights)[0]

    def when(self, item: FeedbackItem) -> datetime:
        """A moment after the item's latest message, before the work ends."""
        start = item.last_message_at
        latest = max(start + timedelta(minutes=5), self.end - timedelta(minutes=30))
        return min(start + timedelta(minutes=self.rng.randint(20, 20 * 60)), latest)

    def reply(self, agent, item: FeedbackItem, tags: list[str], at: datetime, *, fail=False):
        key = _first_with(tags, content.TEMPLATE_FOR_TAG, content.DEFAULT_TEMPLATE)
        template = self.templates.get(key) or self.templates[content.DEFAULT_TEMPLATE]
        text = reply_render(item=item, agent=agent, body=template.body)
        message = reply_send(actor=agent, item=item, text=text, now=at)
        with _mail_backend(REFUSING_BACKEND if fail else MEMORY_BACKEND):
            reply_deliver(message_id=message.pk, now=at + timedelta(seconds=20))
        self.note("failed replies" if fail else "replies")
        return message

    def add_note(self, agent, item: FeedbackItem, tags: list[str], at: datetime, text=None):
        text = text or _first_with(tags, content.NOTES, content.DEFAULT_NOTE)
        note_add(actor=agent, item=item, text=text, now=at)
        self.note("internal notes")

    def work(self) -> None:
        untouched = (
            FeedbackItem.objects.filter(
                team=self.team, status=ItemStatus.NEW, assignee__isnull=True, tags__isnull=True
            )
            .select_related("team", "channel", "customer__account")
            .order_by("last_message_at", "pk")
        )
        items = list(untouched)
        self.read_conversations(items)
        active_from = self.end - timedelta(days=ACTIVE_DAYS)
        old = [item for item in items if item.last_message_at < active_from]
        active = [item for item in items if item.last_message_at >= active_from]
        for index, item in enumerate(old):
            self.resolve_old(item, reply=index % (len(old) // OLD_REPLIES or 1) == 0)
        self.work_active(active)

    def read_conversations(self, items: list[FeedbackItem]) -> None:
        """Which items support answered already (the demo's mail has support's answers in
        it), and which of those wait on the customer (our answer is the latest message): a
        second acknowledgement would read badly, so only unanswered items get a reply."""
        rows = (
            Message.objects.filter(item__in=[item.pk for item in items], is_note=False)
            .order_by("item_id", "sent_at", "pk")
            .values_list("item_id", "direction")
        )
        latest = {}
        for item_id, direction in rows:
            if direction == Direction.OUT:
                self.answered.add(item_id)
            latest[item_id] = direction
        self.ours_last = {pk for pk, direction in latest.items() if direction == Direction.OUT}

    def first_answer(self, item: FeedbackItem) -> bool:
        """A reply of ours would be the item's first answer, and the item can take one."""
        return item.pk not in self.answered and bool(reply_recipient(item)[0])

    def resolve_old(self, item: FeedbackItem, *, reply: bool) -> None:
        agent, tags, at = self.pick_agent(), item_tag_names(item.subject), self.when(item)
        if reply and self.first_answer(item):
            self.reply(agent, item, tags, at)
        item_update(
            actor=agent,
            item=item,
            status=ItemStatus.RESOLVED,
            assignee=agent,
            tags=[self.tags[name] for name in tags if name in self.tags],
            now=at + timedelta(minutes=2),
        )
        self.note("items resolved")

    def work_active(self, items: list[FeedbackItem]) -> None:
        """The newest first: a few priority items nobody got to (they escalate), the other
        priority items and thanks answered and resolved; the rest in turn waiting on the
        customer (our reply sent; the first one failed), open (a note; the first two
        snoozed) or new; items support answered in the mail already get no second answer,
        and posts on the forum, Mastodon or the store, which take no reply, are answered
        where they were written."""
        unanswered = 0
        now = timezone.now()
        self.snoozes = [now + timedelta(hours=4), now + timedelta(days=7)]
        self.failed = False
        unanswered_turns = cycle(("waiting", "open", "new", "waiting", "open", "resolved"))
        answered_turns = cycle(("waiting", "resolved", "open"))
        elsewhere_turns = cycle(("resolved", "new", "open"))
        for item in reversed(items):
            agent, tags, at = self.pick_agent(), item_tag_names(item.subject), self.when(item)
            answerable = self.first_answer(item)
            priority = item.priority in PRIORITY
            praise = "praise" in tags
            waiting_on_us = item.pk not in self.answered and not praise
            if priority and waiting_on_us and unanswered < UNANSWERED_PRIORITY:
                unanswered += 1
                turn = "new"
            elif priority or praise:
                # Priority customers are answered first; thanks are answered and closed.
                turn = "resolved"
            elif answerable:
                turn = next(unanswered_turns)
            elif item.pk in self.answered:
                turn = next(answered_turns)
                # Waiting only on the customer when support's answer is the latest message.
                turn = "open" if turn == "waiting" and item.pk not in self.ours_last else turn
            else:
                turn = next(elsewhere_turns)
            tag_objects = [self.tags[name] for name in tags if name in self.tags]
            if turn == "new":
                # Not opened yet; tagged as an agent went through the list.
                item_update(actor=agent, item=item, tags=tag_objects, now=at)
            elif turn == "resolved":
                if answerable:
                    self.reply(agent, item, tags, at)
                item_update(
                    actor=agent,
                    item=item,
                    status=ItemStatus.RESOLVED,
                    assignee=agent,
                    tags=tag_objects,
                    now=at + timedelta(minutes=2),
                )
            elif turn == "open":
                self.open(agent, item, tags, tag_objects, at)
            elif not answerable:
                item_update(
                    actor=agent,
                    item=item,
                    status=ItemStatus.WAITING,
                    assignee=agent,
                    tags=tag_objects,
                    now=at,
                )
            else:
                item_update(actor=agent, item=item, assignee=agent, tags=tag_objects, now=at)
                self.reply(agent, item, tags, at + timedelta(minutes=5), fail=not self.failed)
                if not self.failed:
                    note = content.FAILED_REPLY_NOTE
                    self.add_note(agent, item, tags, at + timedelta(minutes=7), note)
                self.failed = True
            self.note(f"items {turn}")

    def open(self, agent, item: FeedbackItem, tags: list[str], tag_objects: list, at) -> None:
        item_update(
            actor=agent,
            item=item,
            status=ItemStatus.OPEN,
            assignee=agent,
            tags=tag_objects,
            now=at,
        )
        self.add_note(agent, item, tags, at + timedelta(minutes=3))
        if self.snoozes:
            wake = self.snoozes.pop(0)
            item_update(actor=agent, item=item, snoozed_until=wake, now=at + timedelta(minutes=4))
            self.note("items snoozed")

    def spam(self) -> None:
        channel = Channel.objects.filter(
            team=self.team, name_key=normalised_key(WEBHOOK_CHANNEL), kind="webhook"
        ).first()
        if channel is None:
            return
        agent = self.agents[0][0]  # the demo agent, unless people changed their role
        for index, (name, sender, subject, text) in enumerate(content.SPAM_MAILS):
            sent_at = self.end - timedelta(days=2 + index, hours=5, minutes=17 * index)
            raw = mail(
                sender=address(name, sender),
                to=SUPPORT_ADDRESS,
                subject=subject,
                text=text,
                sent_at=sent_at,
                message_id=f"demo-spam-{index}@{sender.split('@')[1]}",
                boundary=f"demo-spam-{index}",
            )
            payload, created = payload_receive(
                channel=channel,
                raw=raw,
                received_at=sent_at,
                metadata={"via": "demo"},
                queue_parse=False,
                now=sent_at,
            )
            if not created:
                continue
            outcome = payload_parse(payload=payload, now=sent_at)
            message = outcome.message
            if message is None or message.item_id is None:
                continue
            # Scored as the task queued after the commit would score it (as the channels are).
            messages_sentiment_score(message_ids=[message.pk])
            item = FeedbackItem.objects.select_related("team").get(pk=message.item_id)
            at = sent_at + timedelta(hours=1)
            item_update(actor=agent, item=item, status=ItemStatus.SPAM, now=at)
            self.note("items marked spam")


def seed_inbox_work(ctx: DemoContext) -> None:
    team = Team.objects.filter(slug=TEAM_SLUG).first()
    if team is None:
        # People deleted the team the demo's feedback belongs to: nothing to work on.
        return
    work = _Work(ctx, team)
    work.ensure_tags()
    work.ensure_templates()
    work.ensure_views()
    if work.agents:
        work.spam()
        work.work()
    # As the breach task would find the inbox at the time of the seed run.
    for _ in range(sla_breaches_mark(now=timezone.now())):
        ctx.report.note("sla breaches", "created")
