"""The demo's mail, as raw bytes a mail provider would post: customers writing to support,
support's answers (copies from the channel's own address), follow-ups quoting them, HTML mail,
attachments, machine mail (out-of-office replies, a bounce, a read receipt, newsletters) and one
post the parser refuses. Pure: a seeded ``random.Random`` and the demo's customer specs in,
``DemoMail`` values out, in the order they arrived, so threads are stored parent first.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from random import Random

from feedback.demo import content
from feedback.demo.mime import address, mail, png, quoted
from portal.demo.data import CustomerSpec

ITEMS = 220
# Share of the demo's customers who ever write to support; the others never have.
WRITING_SHARE = 0.75
DAYS = 90
REPLY_SHARE = 0.5
FOLLOW_UP_SHARE = 0.45
NUDGE_SHARE = 0.08
HTML_SHARE = 0.3
OUT_OF_OFFICE_REPLIES = 4
BOUNCED_REPLIES = 2
READ_RECEIPTS = 1
# Items whose first mail carries an attachment: screenshots of the dispatch board, and the
# error report of a failed import.
SCREENSHOT_ITEMS = frozenset({5, 77, 150})
IMPORT_REPORT_ITEM = 42
SUPPORT_NAME = "Kitewire Support"
AGENTS = ("Aisha Okafor", "Leo Achterberg", "Maya Brandt")


@dataclass(frozen=True)
class DemoMail:
    kind: str
    raw: bytes
    received_at: datetime


@dataclass
class _Thread:
    customer: CustomerSpec
    subject: str
    text: str
    sent_at: datetime
    ids: list[str]
    last_reply_id: str = ""
    last_reply_text: str = ""
    last_reply_at: datetime | None = None


class _Builder:
    def __init__(self, rng: Random, support: str, end: datetime) -> None:
        self.rng, self.support, self.end = rng, support, end
        self.mails: list[DemoMail] = []
        self.serial = 0

    def message_id(self, domain: str) -> str:
        self.serial += 1
        return f"{self.rng.getrandbits(48):012x}.{self.serial}@mail.{domain}"

    def boundary(self) -> str:
        return f"=_kw{self.rng.getrandbits(32):08x}"

    def add(self, kind: str, raw: bytes, sent_at: datetime) -> None:
        delay = timedelta(seconds=self.rng.randint(3, 90))
        self.mails.append(DemoMail(kind, raw, sent_at + delay))

    def details(self) -> dict[str, object]:
        rng = self.rng
        seats = rng.randint(8, 60)
        return {
            "weekday": rng.choice(content.WEEKDAYS),
            "technicians": rng.randint(6, 80),
            "job": f"J-{rng.randint(10000, 99999)}",
            "android": rng.choice(("13", "14", "15")),
            "invoice": f"KW-{rng.randint(2025, 2026)}-{rng.randint(1, 9999):05d}",
            "seats": seats,
            "fewer": seats - rng.randint(2, 6),
            "integration": rng.choice(content.INTEGRATIONS),
            "count": rng.randint(12, 400),
            "name": rng.choice(content.COLLEAGUES),
            "language": rng.choice(content.LANGUAGES),
            "feature": rng.choice(content.FEATURES),
            "row": rng.randint(2, 900),
        }


def _first_name(customer: CustomerSpec) -> str:
    return customer.name.split()[0]


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


def _customer_address(customer: CustomerSpec) -> str:
    return address(customer.name, customer.email)


def _opening_mail(builder: _Builder, customer: CustomerSpec, index: int) -> _Thread:
    rng = builder.rng
    topics = {topic.key: topic for topic in content.TOPICS}
    topic = rng.choice(content.TOPICS)
    if index in SCREENSHOT_ITEMS:
        topic = topics["dispatch-board"]
    elif index == IMPORT_REPORT_ITEM:
        topic = topics["onboarding"]
    details = builder.details()
    which = rng.randrange(len(topic.openings))
    subject = topic.subjects[which].format_map(details)
    body = " ".join(
        (topic.openings[which], *rng.sample(topic.details, rng.randint(1, 2)))
    ).format_map(details)
    ask = topic.asks[which]
    sign_off = rng.choice(("Best regards", "Thanks", "Kind regards", "Cheers"))
    text = (
        f"Hi Kitewire team,\n\n{body}\n\n{ask}\n\n{sign_off},\n{_first_name(customer)}\n\n"
        f"-- \n{customer.name}\n{customer.account}\n"
    )
    days_back = rng.uniform(2, DAYS)
    sent_at = (builder.end - timedelta(days=days_back)).replace(
        hour=rng.choice((7, 8, 9, 10, 11, 13, 14, 15, 16, 17)), minute=rng.randint(0, 59)
    )
    attachment = None
    if index in SCREENSHOT_ITEMS:
        attachment = (png(64, 40, (40, 90, 160)), "image/png", "screenshot.png")
    elif index == IMPORT_REPORT_ITEM:
        rows = "row,site,postcode,error\r\n14,North depot,AB1 2CD,invalid postcode\r\n"
        attachment = (rows.encode(), "text/csv", "import-errors.csv")
    message_id = builder.message_id(_domain(customer.email))
    raw = mail(
        boundary=builder.boundary(),
        sender=_customer_address(customer),
        to=address(SUPPORT_NAME, builder.support),
        subject=subject,
        text=text,
        sent_at=sent_at,
        message_id=message_id,
        html=rng.random() < HTML_SHARE,
        latin1=customer.name != customer.name.encode("ascii", "ignore").decode(),
        attachment=attachment,
    )
    builder.add("customer", raw, sent_at)
    return _Thread(customer, subject, text, sent_at, [message_id])


def _support_reply(builder: _Builder, thread: _Thread) -> None:
    rng = builder.rng
    sent_at = thread.sent_at + timedelta(hours=rng.uniform(0.5, 20))
    if sent_at >= builder.end:
        return
    agent = rng.choice(AGENTS)
    answer = rng.choice(content.REPLIES)
    text = (
        f"Hi {_first_name(thread.customer)},\n\n{answer}\n\nBest,\n{agent}\n{SUPPORT_NAME}\n\n"
        + quoted(thread.text, thread.customer.name, thread.sent_at)
    )
    message_id = f"reply.{builder.rng.getrandbits(40):010x}@{_domain(builder.support)}"
    raw = mail(
        boundary=builder.boundary(),
        sender=address(f"{agent} ({SUPPORT_NAME})", builder.support),
        to=_customer_address(thread.customer),
        subject=f"Re: {thread.subject}",
        text=text,
        sent_at=sent_at,
        message_id=message_id,
        parents=thread.ids,
    )
    builder.add("reply", raw, sent_at)
    thread.ids.append(message_id)
    thread.last_reply_id, thread.last_reply_text, thread.last_reply_at = message_id, text, sent_at


def _customer_follow_up(builder: _Builder, thread: _Thread, lines: tuple[str, ...]) -> None:
    rng = builder.rng
    after = thread.last_reply_at or thread.sent_at
    sent_at = after + timedelta(hours=rng.uniform(1, 48))
    if sent_at >= builder.end:
        return
    if thread.last_reply_at:
        history = quoted(thread.last_reply_text, SUPPORT_NAME, thread.last_reply_at)
    else:
        history = quoted(thread.text, thread.customer.name, thread.sent_at)
    line = rng.choice(lines).format_map(builder.details())
    text = f"{line}\n\n{_first_name(thread.customer)}\n\n{history}"
    message_id = builder.message_id(_domain(thread.customer.email))
    raw = mail(
        boundary=builder.boundary(),
        sender=_customer_address(thread.customer),
        to=address(SUPPORT_NAME, builder.support),
        subject=f"Re: {thread.subject}",
        text=text,
        sent_at=sent_at,
        message_id=message_id,
        parents=thread.ids,
        html=rng.random() < HTML_SHARE,
    )
    builder.add("follow-up", raw, sent_at)
    thread.ids.append(message_id)


def _out_of_office(builder: _Builder, thread: _Thread) -> None:
    sent_at = thread.last_reply_at + timedelta(seconds=builder.rng.randint(20, 300))
    text = content.OUT_OF_OFFICE.format(weekday=builder.rng.choice(content.WEEKDAYS))
    raw = mail(
        boundary=builder.boundary(),
        sender=_customer_address(thread.customer),
        to=address(SUPPORT_NAME, builder.support),
        subject=f"Automatic reply: Re: {thread.subject}",
        text=text,
        sent_at=sent_at,
        message_id=builder.message_id(_domain(thread.customer.email)),
        parents=[thread.last_reply_id],
        extra={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )
    builder.add("auto-reply", raw, sent_at)


def _report(builder: _Builder, thread: _Thread, *, bounce: bool) -> None:
    """A delivery failure (RFC 3464) or a read receipt (RFC 8098) about support's reply."""
    domain = _domain(thread.customer.email)
    sent_at = thread.last_reply_at + timedelta(seconds=builder.rng.randint(5, 3600))
    boundary = f"report-{builder.rng.getrandbits(32):08x}"
    if bounce:
        sender = f"Mail Delivery System <MAILER-DAEMON@mx1.{domain}>"
        subject, report_type = "Undelivered Mail Returned to Sender", "delivery-status"
        human = (
            f"This is the mail system at host mx1.{domain}.\r\n\r\nYour message could not be "
            f"delivered to one or more recipients.\r\n\r\n<{thread.customer.email}>: host "
            f"mx1.{domain} said: 550 5.1.1 User unknown\r\n"
        )
        report = (
            f"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx1.{domain}\r\n"
            f"\r\nFinal-Recipient: rfc822; {thread.customer.email}\r\nAction: failed\r\n"
            "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        )
        original = (
            f"Content-Type: text/rfc822-headers\r\n\r\nFrom: {builder.support}\r\n"
            f"To: {thread.customer.email}\r\nSubject: Re: {thread.subject}\r\n"
            f"Message-ID: <{thread.last_reply_id}>\r\n"
        )
    else:
        sender = f"{thread.customer.email}"
        subject, report_type = f"Read: Re: {thread.subject}", "disposition-notification"
        human = "Your message was displayed on the recipient's computer.\r\n"
        report = (
            "Content-Type: message/disposition-notification\r\n\r\n"
            f"Final-Recipient: rfc822; {thread.customer.email}\r\n"
            f"Original-Message-ID: <{thread.last_reply_id}>\r\n"
            "Disposition: manual-action/MDN-sent-manually; displayed\r\n"
        )
        original = ""
    parts = [f"Content-Type: text/plain; charset=us-ascii\r\n\r\n{human}", report]
    if original:
        parts.append(original)
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    headers = (
        f"From: {sender}\r\nTo: {builder.support}\r\nSubject: {subject}\r\n"
        f"Date: {format_datetime(sent_at)}\r\n"
        f"Message-ID: <{builder.message_id(domain)}>\r\nAuto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type={report_type}; "
        f'boundary="{boundary}"\r\n\r\n'
    )
    builder.add("bounce" if bounce else "read-receipt", (headers + body).encode(), sent_at)


def _newsletters(builder: _Builder) -> None:
    for index, (subject, domain) in enumerate(content.NEWSLETTERS):
        sent_at = builder.end - timedelta(days=3 + 7 * index, hours=3)
        raw = mail(
            boundary=builder.boundary(),
            sender=address(domain.split(".")[0].title(), f"news@{domain}"),
            to=builder.support,
            subject=subject,
            text=f"{subject}\n\nRead it online: https://{domain}/latest\n",
            sent_at=sent_at,
            message_id=builder.message_id(domain),
            html=True,
            extra={
                "List-Unsubscribe": f"<https://{domain}/unsubscribe>",
                "Precedence": "bulk",
            },
        )
        builder.add("bulk", raw, sent_at)


def refused_post(support: str) -> bytes:
    """What a provider posts when it is set up to send its JSON event instead of the raw
    mail: the parser refuses it (no header block), so it waits in quarantine."""
    event = {
        "event": "inbound",
        "recipient": support,
        "subject": "Re: Question about invoice",
        "body-mime-url": "https://storage.mailprovider.example/mime/8f2c51",
    }
    return json.dumps(event, indent=2).encode()


def build_mails(
    rng: Random, customers: list[CustomerSpec], *, support: str, end: datetime
) -> list[DemoMail]:
    """Every demo mail, sorted by arrival; all of them arrive before ``end``."""
    builder = _Builder(rng, support, end)
    writers = rng.sample(customers, round(len(customers) * WRITING_SHARE))
    # Bigger accounts' contacts and priority customers write more often.
    weights = [{"vip": 3, "priority": 2}.get(customer.tier, 1) for customer in writers]
    threads = []
    for index in range(ITEMS):
        customer = rng.choices(writers, weights=weights)[0]
        thread = _opening_mail(builder, customer, index)
        if rng.random() < REPLY_SHARE:
            _support_reply(builder, thread)
        threads.append(thread)
    replied = [thread for thread in threads if thread.last_reply_id]
    special = rng.sample(replied, OUT_OF_OFFICE_REPLIES + BOUNCED_REPLIES + READ_RECEIPTS)
    for thread in special[:OUT_OF_OFFICE_REPLIES]:
        _out_of_office(builder, thread)
    for thread in special[OUT_OF_OFFICE_REPLIES : OUT_OF_OFFICE_REPLIES + BOUNCED_REPLIES]:
        _report(builder, thread, bounce=True)
    for thread in special[OUT_OF_OFFICE_REPLIES + BOUNCED_REPLIES :]:
        _report(builder, thread, bounce=False)
    # A customer whose address bounced writes no more; nor, here, one who sent a receipt.
    reported = set(map(id, special[OUT_OF_OFFICE_REPLIES:]))
    for thread in threads:
        if id(thread) in reported:
            continue
        if thread.last_reply_id and rng.random() < FOLLOW_UP_SHARE:
            _customer_follow_up(builder, thread, content.FOLLOW_UPS)
        elif not thread.last_reply_id and rng.random() < NUDGE_SHARE:
            _customer_follow_up(builder, thread, content.NUDGES)
    _newsletters(builder)
    last = max(mail.received_at for mail in builder.mails)
    builder.add("quarantined", refused_post(support), min(last, end - timedelta(hours=2)))
    return sorted(builder.mails, key=lambda mail: mail.received_at)
