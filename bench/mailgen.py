"""Realistic support mail for the ingestion benchmark, generated from a fixed seed.

The mix is what a support mailbox receives: plain text (some in Latin-1 or quoted-printable),
HTML newsletters-style mail with a text part (and some HTML only, with a tracking pixel),
replies in threads (In-Reply-To and References to earlier mail of the same set, quoted in the
Gmail or Outlook way), mail with attachments (PDF-like, PNG-like and CSV files of 10-300 KB,
some with RFC 2231 names) and machine mail: auto-replies, delivery failures (DSN), read
receipts (MDN) and bulk mail. Every message is RFC 5322 bytes with CRLF line endings, as a
mailbox holds them; the same seed gives the same bytes.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from portal.demo.data import FIRST_NAMES, LAST_NAMES

SEED = 20261207
SUPPORT = "ACME Support <support@acme.example>"
START = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "gmx.de", "web.de", "icloud.com")
COMPANIES = tuple(
    f"{word}.example"
    for word in [
        "northwind",
        "fabrikam",
        "contoso",
        "tailspin",
        "wingtip",
        "adatum",
        "litware",
        "proseware",
        "lucerne",
        "woodgrove",
        "fourth",
        "coho",
        "margie",
        "relecloud",
        "alpine",
        "blue",
        "humongous",
        "southridge",
        "treyresearch",
        "wideworld",
        "graphic",
        "vanarsdel",
        "trey",
        "consolidated",
        "datum",
        "nod",
        "adventure",
        "bellows",
    ]
)
# Weights of the kinds of mail, out of 100.
MIX = (
    ("plain", 34),
    ("html", 20),
    ("reply", 18),
    ("attachment", 10),
    ("auto_reply", 7),
    ("bounce", 5),
    ("read_receipt", 3),
    ("bulk", 3),
)
TOPICS = (
    ("The coffee machine leaks", "the coffee machine you sold us leaks water onto the counter"),
    ("Invoice 2026-{n} is wrong", "invoice 2026-{n} charges us twice for the same licence"),
    ("Cannot log in since the update", "since yesterday's update nobody on our team can log in"),
    ("Export to Excel breaks umlauts", "the Excel export turns Müller and Jürgen into garbage"),
    ("Feature request: dark mode", "our night shift would love a dark mode for the dashboard"),
    ("Delivery {n} arrived damaged", "two of the boxes in delivery {n} were crushed"),
    ("API returns 500 on /orders", "the orders endpoint answers 500 for about one call in ten"),
    ("Cancel my subscription", "please cancel our subscription at the end of this month"),
    ("Question about GDPR data export", "how do we get a copy of all data you hold about us"),
    ("Slow reports on Mondays", "the weekly report takes more than ten minutes every Monday"),
)
SENTENCES = (
    "We noticed this first on Tuesday morning.",
    "It happens on every machine in the office, not just mine.",
    "Could you please have a look as soon as possible?",
    "Our customers are starting to complain about it.",
    "I attached what I could find; tell me if you need more.",
    "We already tried restarting everything, which did not help.",
    "This worked fine until last week.",
    "Zusätzlich bekommen wir eine Fehlermeldung, die wir nicht verstehen.",
    "Merci de revenir vers nous rapidement, c'est assez urgent.",
    "The problem seems to get worse in the afternoon.",
    "A colleague of mine reported the same thing in March.",
    "Thanks in advance for your help — we really appreciate it.",
)


@dataclass
class _Sent:
    message_id: str
    subject: str
    sender: str
    text: str
    date: datetime
    references: list[str] = field(default_factory=list)


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sequence = 0
        self.now = START
        self.sent: list[_Sent] = []
        self.senders = [self._person() for _ in range(400)]

    def _person(self) -> str:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        domain = rng.choice(FREE_MAIL) if rng.random() < 0.3 else rng.choice(COMPANIES)
        ascii_name = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore")
        local = ascii_name.decode().lower().replace(" ", "").replace("'", "")
        return f"{first} {last} <{local}@{domain}>"

    def _message_id(self, domain: str = "mail.example") -> str:
        self.sequence += 1
        return f"{self.sequence:06d}.{self.rng.getrandbits(48):012x}@{domain}"

    def _text(self, low: int = 2, high: int = 9) -> str:
        sentences = self.rng.choices(SENTENCES, k=self.rng.randint(low, high))
        return " ".join(sentences)

    def _base(self, sender: str, subject: str) -> EmailMessage:
        self.now += timedelta(seconds=self.rng.randint(20, 900))
        message = EmailMessage(policy=SMTP)
        message["From"] = sender
        message["To"] = SUPPORT
        message["Subject"] = subject
        message["Date"] = format_datetime(self.now)
        message["Message-ID"] = f"<{self._message_id(sender.rsplit('@', 1)[1].rstrip('>'))}>"
        message["Received"] = (
            f"from mx{self.rng.randint(1, 9)}.relay.example by mx.acme.example; "
            f"{format_datetime(self.now)}"
        )
        return message

    def _customer_mail(self, *, subject: str | None = None, text: str | None = None):
        topic, detail = self.rng.choice(TOPICS)
        n = self.rng.randint(100, 999)
        sender = self.rng.choice(self.senders)
        subject = subject or topic.format(n=n)
        name = sender.split("<")[0].strip()
        text = text or f"Hello,\n\n{detail.format(n=n).capitalize()}. {self._text()}\n\n"
        text += f"Best regards,\n{name}\n"
        return sender, subject, text

    def _remember(self, message: EmailMessage, text: str, references: list[str]) -> None:
        self.sent.append(
            _Sent(
                message_id=message["Message-ID"].strip("<>"),
                subject=str(message["Subject"]),
                sender=str(message["From"]),
                text=text,
                date=self.now,
                references=references,
            )
        )

    def plain(self) -> EmailMessage:
        sender, subject, text = self._customer_mail()
        message = self._base(sender, subject)
        charset = self.rng.choice(("utf-8", "utf-8", "iso-8859-1"))
        try:
            message.set_content(
                text, charset=charset, cte=self.rng.choice(("8bit", "quoted-printable"))
            )
        except UnicodeEncodeError:
            message.set_content(text)
        self._remember(message, text, [])
        return message

    def html(self) -> EmailMessage:
        sender, subject, text = self._customer_mail()
        message = self._base(sender, subject)
        paragraphs = "".join(f"<p style='margin:0 0 8px'>{line}</p>" for line in text.split("\n\n"))
        body = (
            "<html><head><style>p{font-family:Arial}</style></head><body>"
            f"<div dir='ltr'>{paragraphs}"
            "<p><a href='https://status.example/incident'>Our status page</a></p>"
            "<img src='https://track.example/open.gif?u=1' width='1' height='1'></div>"
            "</body></html>"
        )
        if self.rng.random() < 0.85:
            message.set_content(text)
            message.add_alternative(body, subtype="html")
        else:
            message.set_content(body, subtype="html")
        self._remember(message, text, [])
        return message

    def reply(self) -> EmailMessage:
        if not self.sent:
            return self.plain()
        # Recent conversations get most replies, as in a real mailbox.
        earlier = self.sent[-self.rng.randint(1, min(len(self.sent), 60))]
        subject = earlier.subject if earlier.subject.startswith("Re:") else f"Re: {earlier.subject}"
        message = self._base(earlier.sender, subject)
        references = [*earlier.references, earlier.message_id][-10:]
        message["In-Reply-To"] = f"<{earlier.message_id}>"
        message["References"] = " ".join(f"<{ref}>" for ref in references)
        new = f"Hi again,\n\n{self._text(1, 4)}\n\nThanks\n"
        quoted = "\n".join(f"> {line}" if line else ">" for line in earlier.text.splitlines())
        if self.rng.random() < 0.5:
            header = f"On {format_datetime(earlier.date)}, ACME Support wrote:"
        else:
            header = (
                "-----Original Message-----\nFrom: ACME Support\n"
                f"Sent: {format_datetime(earlier.date)}\nSubject: {earlier.subject}\n"
            )
        message.set_content(f"{new}\n{header}\n{quoted}\n")
        self._remember(message, new, references)
        return message

    def attachment(self) -> EmailMessage:
        message = self.plain()
        for _ in range(self.rng.choice((1, 1, 2))):
            kind = self.rng.choice(("pdf", "png", "csv"))
            size = self.rng.randint(10_000, 300_000)
            if kind == "csv":
                rows = [f"{n},order-{n},{self.rng.randint(1, 999)}.00" for n in range(size // 24)]
                data = ("id,order,amount\n" + "\n".join(rows)).encode()
                maintype, subtype = "text", "csv"
            else:
                data = self.rng.randbytes(size)
                maintype, subtype = ("application", "pdf") if kind == "pdf" else ("image", "png")
            name = self.rng.choice(("report", "Rechnung März", "screenshot", "log export"))
            message.add_attachment(
                data, maintype=maintype, subtype=subtype, filename=f"{name}.{kind}"
            )
        return message

    def auto_reply(self) -> EmailMessage:
        sender = self.rng.choice(self.senders)
        message = self._base(sender, "Automatic reply: Your request")
        flavour = self.rng.randrange(3)
        if flavour == 0:
            message["Auto-Submitted"] = "auto-replied"
        elif flavour == 1:
            message["X-Auto-Response-Suppress"] = "All"
            message["X-MS-Exchange-Inbox-Rules-Loop"] = sender.split("<")[1].rstrip(">")
        else:
            message["Precedence"] = "auto_reply"
            message["X-Autoreply"] = "yes"
        message.set_content("I am out of the office until Monday and will read mail then.\n")
        return message

    def _report(self, sender: str, subject: str, report_type: str, parts: list[str]) -> bytes:
        # The email package cannot build multipart/report with its status parts, so by hand.
        self.now += timedelta(seconds=self.rng.randint(20, 900))
        boundary = f"=_report_{self.rng.getrandbits(40):010x}"
        head = (
            f"From: {sender}\nTo: {SUPPORT}\nSubject: {subject}\n"
            f"Date: {format_datetime(self.now)}\nMessage-ID: <{self._message_id('mx.example')}>\n"
            "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
            f'Content-Type: multipart/report; report-type={report_type}; boundary="{boundary}"\n\n'
        )
        body = "".join(f"--{boundary}\n{part}\n" for part in parts) + f"--{boundary}--\n"
        return (head + body).replace("\n", "\r\n").encode()

    def bounce(self) -> bytes:
        recipient = self.rng.choice(self.senders).split("<")[1].rstrip(">")
        original_id = self.sent[-1].message_id if self.sent else self._message_id()
        return self._report(
            "Mail Delivery System <MAILER-DAEMON@mx.acme.example>",
            "Undelivered Mail Returned to Sender",
            "delivery-status",
            [
                "Content-Type: text/plain; charset=us-ascii\n\n"
                f"This is the mail system. Your message to <{recipient}> could not be delivered.\n",
                "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.acme.example\n\n"
                f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: 5.1.1\n"
                "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n",
                f"Content-Type: text/rfc822-headers\n\nFrom: {SUPPORT}\nTo: {recipient}\n"
                f"Subject: Re: your request\nMessage-ID: <{original_id}>\n",
            ],
        )

    def read_receipt(self) -> bytes:
        sender = self.rng.choice(self.senders)
        address = sender.split("<")[1].rstrip(">")
        return self._report(
            sender,
            "Read: Your request",
            "disposition-notification",
            [
                "Content-Type: text/plain; charset=us-ascii\n\nYour message was read.\n",
                "Content-Type: message/disposition-notification\n\n"
                f"Reporting-UA: mail.example; Outlook\nFinal-Recipient: rfc822; {address}\n"
                "Disposition: manual-action/MDN-sent-manually; displayed\n",
            ],
        )

    def bulk(self) -> EmailMessage:
        message = self._base("Vendor News <news@newsletter.example>", "Our November newsletter")
        message["List-Unsubscribe"] = "<mailto:unsubscribe@newsletter.example>"
        message["List-Id"] = "<news.newsletter.example>"
        message["Precedence"] = "bulk"
        message.set_content("Unsubscribe at any time.\n")
        message.add_alternative("<h1>News</h1>" + "<p>Read more about us.</p>" * 30, subtype="html")
        return message


def generate(count: int, *, seed: int = SEED) -> list[bytes]:
    """``count`` messages in the mix above, the same bytes for the same seed."""
    generator = _Generator(seed)
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    mails = []
    for _ in range(count):
        mail = getattr(generator, generator.rng.choice(kinds))()
        if isinstance(mail, EmailMessage):
            # The email package draws boundaries from the global random generator.
            for part in mail.walk():
                if part.is_multipart():
                    part.set_boundary(f"=_part_{generator.rng.getrandbits(64):016x}")
            mail = mail.as_bytes()
        mails.append(mail)
    return mails


def big_message(size: int = 12 * 1024 * 1024, *, seed: int = SEED) -> bytes:
    """One customer mail with an attachment of ``size`` bytes (about 16 MB in base64)."""
    rng = random.Random(seed)
    message = EmailMessage(policy=SMTP)
    message["From"] = "Grace Hopper <grace@northwind.example>"
    message["To"] = SUPPORT
    message["Subject"] = "The full log you asked for"
    message["Date"] = format_datetime(START)
    message["Message-ID"] = "<big-attachment.1@northwind.example>"
    message.set_content("Hello,\n\nhere is the whole log file.\n\nGrace\n")
    message.add_attachment(
        rng.randbytes(size), maintype="application", subtype="octet-stream", filename="trace.log.gz"
    )
    message.set_boundary("=_part_big_attachment")
    return message.as_bytes()
