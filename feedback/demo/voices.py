"""What the demo's customers say outside e-mail: app-store reviews of the technician app, topics
on Kitewire's community forum, mentions of @kitewire on Mastodon and messages sent through the
widget in the product. Plain text, no database, no Django; ``feedback.demo.remote`` turns it
into the documents each remote would answer.

Each entry says when it was written in days before the end of the demo's history (the start of
yesterday, as for the mail), so that it reads the same on every run. Some writers are customers
of the demo directory, named by their index in its specs (``build_customers``): they get a handle
on that channel, so that the directory shows one person across channels; the others are new
people known only by their handle.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Review:
    """One App Store review of the Kitewire technician app."""

    review_id: str
    author: str
    rating: int
    title: str
    text: str
    days_back: float


REVIEWS = (
    Review("11873004512", "VanLifeSparky", 5, "Best job app we have used",
           "Jobs, photos and signatures in one place. Our electricians stopped phoning the "
           "office for addresses. Great work!", 88.2),
    Review("11873522190", "boilerbob77", 2, "Logs me out every morning",
           "Have to log in again every single morning before the first job. Annoying when "
           "you are standing at a customer's door.", 80.6),
    Review("11874810033", "Marta H.", 4, "Solid, needs offline maps",
           "Does what it says and the route view is clear. Would be five stars with offline "
           "maps for the basements we work in.", 71.4),
    Review("11875160927", "plumb-perfect", 1, "Crashes when adding photos",
           "The app closes when I add the third photo to a job. Lost a signed job sheet "
           "twice this week. Terrible after the last update.", 63.9),
    Review("11876002261", "GreenLeaf Gardens", 5, "Our crews love it",
           "Simple enough that our seasonal staff learn it in ten minutes. Love the "
           "on-my-way text button.", 57.3),
    Review("11876459810", "techdan", 3, "OK but slow to sync",
           "Works fine but completed jobs take ages to show up for the office. Sometimes "
           "an hour.", 49.0),
    Review("11877031184", "Siobhan K", 5, "Huge time saver",
           "We used to print job sheets every morning. Now everything is on the phone and "
           "invoices go out the same day. Brilliant.", 41.7),
    Review("11877590346", "ductwork_dave", 2, "Signature box too small",
           "Customers struggle to sign on the small box on my phone and the signature comes "
           "out as a scribble. Frustrating. Please make it bigger.", 35.2),
    Review("11878122078", "Nordlicht Service", 4, "Gut, aber Übersetzung fehlt",
           "Works well for us. Some screens are still in English although the phone is set "
           "to German.", 29.8),
    Review("11878766505", "LiftTechLena", 1, "Update broke login",
           "Since the update I cannot log in at all with our company's Microsoft account. "
           "Useless until fixed.", 22.4),
    Review("11879200019", "PestProPete", 5, "Finally a field app that works",
           "Fast, clear and the support team answered within the hour. Highly recommend "
           "Kitewire to any small service business.", 17.1),
    Review("11879655731", "Jo at Tidewell", 3, "Good app, battery hungry",
           "Does the job, but with GPS tracking on it drains the battery by lunchtime.", 12.6),
    Review("11880012864", "hvac_hannah", 4, "Much better since the fix",
           "The photo crash is gone in the latest version. Thanks for fixing it quickly.", 8.3),
    Review("11880473390", "QuaysideMarine", 2, "Time windows ignored",
           "The app sends me to jobs outside the customer's time window. Customers are "
           "annoyed and so am I.", 4.9),
    Review("11880901127", "sparks_and_co", 5, "Love the new week view",
           "The new week view lets me see my whole week at a glance. Excellent update!", 1.6),
)  # fmt: skip


@dataclass(frozen=True)
class ForumPost:
    """One post: by a directory customer (``customer``, an index) or by a forum user known only
    by ``username`` and ``name``."""

    text: str
    days_back: float
    customer: int | None = None
    username: str = ""
    name: str = ""


@dataclass(frozen=True)
class ForumTopic:
    title: str
    category: str
    posts: tuple[ForumPost, ...]


TOPICS = (
    ForumTopic("Recurring jobs every other week?", "feature-requests", (
        ForumPost("Is there a way to plan a job every other week? We service filters on a "
                  "two-week cycle and add each one by hand.", 52.4, customer=7),
        ForumPost("Same here, we would use it for every maintenance contract.", 51.8,
                  username="gregor_m", name="Gregor Maier"),
        ForumPost("+1, it is the one thing we miss from our old system.", 49.2, customer=31),
    )),
    ForumTopic("Tips for planning a 40-technician Monday", "dispatching", (
        ForumPost("How do other dispatchers plan a big Monday? We start at 6 and are still "
                  "moving jobs at 9.", 44.0, username="dispatch_dina", name="Dina Osei"),
        ForumPost("We plan the week view on Friday afternoon and only fix the gaps on Monday. "
                  "It works great for us.", 43.6, customer=58),
        ForumPost("Colour-code by contract first, then drag. It helps a lot.", 43.1,
                  username="fieldops_frank", name="Frank Ruiz"),
    )),
    ForumTopic("Xero sync stopped again", "integrations", (
        ForumPost("Our Xero sync has stopped again: no invoices since Tuesday and the page "
                  "still says connected. Anyone else?", 33.5, customer=19),
        ForumPost("Yes, ours too since Tuesday. Reconnecting did not help.", 33.2,
                  username="ledger_lu", name="Lu Chen"),
        ForumPost("Working again for us this morning, the missing invoices came across.",
                  31.9, customer=19),
    )),
    ForumTopic("Offline mode for basements and plant rooms", "technician-app", (
        ForumPost("Half our jobs are in basements without signal. Will the technician app "
                  "ever work fully offline?", 27.3, username="underground_ops",
                  name="Priscilla Nwosu"),
        ForumPost("We need this too, the photos fail to upload and technicians retry five "
                  "times.", 26.8, customer=84),
    )),
    ForumTopic("Thank you for the new week view", "general", (
        ForumPost("Just wanted to say the new week view is fantastic. Monday planning takes "
                  "half the time now.", 19.6, customer=44),
        ForumPost("Agreed, best update this year!", 19.1, username="hanne_v",
                  name="Hanne Visser"),
    )),
    ForumTopic("SMS reminders in Dutch", "technician-app", (
        ForumPost("Our reminder SMS still go out in English although the account language "
                  "is Dutch. Where do we change it?", 14.2, customer=101),
        ForumPost("It is under Settings, Notifications, Language for customers. Took me a "
                  "while to find too.", 13.9, username="ops_ruben", name="Ruben de Vries"),
    )),
    ForumTopic("Route optimiser and lunch breaks", "dispatching", (
        ForumPost("Does the route optimiser know about lunch breaks? It plans jobs straight "
                  "through noon and the technicians are not happy.", 9.4,
                  username="mila_routes", name="Mila Novak"),
    )),
    ForumTopic("Exporting timesheets to payroll", "feature-requests", (
        ForumPost("Has anyone found a good way to get timesheets into payroll? We copy them "
                  "by hand every Friday and it is slow and error-prone.", 5.2, customer=66),
        ForumPost("We export the CSV and import it into Sage. Clunky but it works.", 4.7,
                  username="payroll_pat", name="Pat Gallagher"),
    )),
)  # fmt: skip


@dataclass(frozen=True)
class Mention:
    """A status mentioning @kitewire. ``replies_to`` names an earlier mention (its index) that
    this one answers; ``after_answer`` says that the team answered that one first, on Mastodon,
    and this status answers the team's answer."""

    text: str
    days_back: float
    customer: int | None = None
    acct: str = ""
    name: str = ""
    replies_to: int | None = None
    after_answer: bool = False


# The instance the team's account lives on, and others its customers write from.
MASTODON_INSTANCE = "mastodon.example"
TEAM_ACCOUNT = "kitewire"

MENTIONS = (
    Mention("Is anyone else's technician app logging people out this morning? Three of our "
            "engineers are stuck at the login screen.", 38.4, customer=12),
    Mention("Back in now, thanks for the quick answer!", 38.2, customer=12, replies_to=0,
            after_answer=True),
    Mention("Big thanks to the Kitewire support team, they fixed our invoice in ten minutes. "
            "Lovely people.", 30.5, acct="sunny_plumbing@toot.example", name="Sunny Plumbing"),
    Mention("The new week view is a game changer for our Monday planning. Great job!", 24.1,
            customer=44),
    Mention("Our on-my-way texts have not gone out since yesterday. Customers keep calling to "
            "ask where the technician is. Not good.", 18.7, acct="rita_ops",
            name="Rita Okonkwo"),
    Mention("Same problem here since yesterday, no texts at all.", 18.5,
            acct="coldchain@fosstodon.example", name="ColdChain Services", replies_to=4),
    Mention("Any plans for a map view on the technician app? Would help our new starters a "
            "lot.", 11.3, customer=58),
    Mention("Dispatch board is painfully slow today, every drag takes five seconds. Please "
            "fix this!", 6.2, acct="kai_dispatch", name="Kai Lindholm"),
    Mention("Really happy with the new photo upload, much faster now.", 3.8, customer=84),
    Mention("Route optimiser sent my technician across town twice today. Frustrating.", 2.4,
            acct="valebrook_gardens@toot.example", name="Valebrook Landscaping"),
)  # fmt: skip


@dataclass(frozen=True)
class WidgetMessage:
    """A message sent through the widget in the product: from a directory customer's address
    (``customer``) or from a new one."""

    message: str
    page: str
    days_back: float
    customer: int | None = None
    email: str = ""
    name: str = ""
    screenshot: bool = False


WIDGET_MESSAGES = (
    WidgetMessage("The export button on the jobs list does nothing in Safari. It works in "
                  "Chrome.", "/jobs", 61.5, customer=3),
    WidgetMessage("Love the colour-coding of jobs by contract, thank you!", "/board", 47.2,
                  customer=27),
    WidgetMessage("The invoice preview cuts off the last line of the address.",
                  "/invoices/preview", 36.8, customer=52, screenshot=True),
    WidgetMessage("How do I add a second depot? I cannot find it under Settings.",
                  "/settings/depots", 26.4, email="owner@sparkright.example",
                  name="Tom Sparkright"),
    WidgetMessage("Timesheet totals are wrong for night shifts that run past midnight. This "
                  "is a real problem for payroll.", "/timesheets", 20.9, customer=66),
    WidgetMessage("Please add a dark mode, the board is very bright on the night shift.",
                  "/board", 15.3, customer=90),
    WidgetMessage("Great product, onboarding was smooth and the team was very helpful.",
                  "/welcome", 10.1, email="maria@fixitfast.example", name="Maria Lopez"),
    WidgetMessage("Search on the customer list does not find sites by postcode.",
                  "/customers", 7.6, customer=110),
    WidgetMessage("The new week view is very slow to load with 60 technicians, which is "
                  "frustrating on a Monday morning.", "/board/week", 3.1, customer=31),
    WidgetMessage("It is a pain that we cannot attach a PDF to a job, only pictures. Our "
                  "certificates have to go out by e-mail separately.", "/jobs/edit", 2.2,
                  customer=75),
)  # fmt: skip

# Mail threads of the demo (by their position among the customers' opening mails, within the
# first 30 so that the tests' shorter demo has them too) that the same customer repeats the
# next day on another channel: the demo's likely duplicates.
REPEATED_BY_WIDGET = (6, 19)
REPEATED_ON_FORUM = (23,)
REPEAT_AFTER_HOURS = 26


@dataclass(frozen=True)
class TicketComment:
    text: str
    days_back: float
    # The help desk's own answer: Zendesk exports it, the connector leaves it out.
    agent: bool = False


@dataclass(frozen=True)
class Ticket:
    """A ticket in the Zendesk help desk that billing questions still go to: requested by a
    directory customer (``customer``) or by someone new (``name``, ``email``)."""

    subject: str
    comments: tuple[TicketComment, ...]
    customer: int | None = None
    name: str = ""
    email: str = ""


HELP_DESK_AGENT = "Priya Raman"

TICKETS = (
    Ticket("Refund for the duplicate November charge", (
        TicketComment("We were charged twice for November. Please refund the second payment "
                      "to the same card.", 21.5),
        TicketComment("Sorry about that, the refund is on its way and should show within "
                      "five working days.", 21.2, agent=True),
        TicketComment("Thank you, the refund arrived today.", 16.4),
    ), customer=36),
    Ticket("Invoices as PDF for our accountant", (
        TicketComment("Our accountant needs every invoice as a PDF, but the download gives us "
                      "a CSV. Is there a way to get PDFs?", 13.8),
    ), name="Olu Adeyemi", email="olu@brightsparks.example"),
    Ticket("VAT number missing on invoices", (
        TicketComment("Our VAT number is missing from the last three invoices, which our "
                      "finance team cannot accept. Can you reissue them?", 9.7),
        TicketComment("Reissued with the VAT number, attached to this ticket.", 9.5, agent=True),
        TicketComment("The new invoices still show the old address. Disappointing.", 8.9),
    ), customer=101),
    Ticket("Reduce our plan by two seats", (
        TicketComment("Two technicians left us this month. Please reduce our plan from 14 to "
                      "12 seats from the next invoice.", 5.6),
    ), customer=88),
)  # fmt: skip
