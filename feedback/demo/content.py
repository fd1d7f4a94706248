"""What the demo's customers write about, and how Kitewire's support answers: plain text the
mail builder (``feedback.demo.mails``) fills in and wraps into MIME. No database, no Django.

Kitewire schedules field-service work (dispatch board, technician app, routes, invoices), so the
topics are what such customers write to support about. Each topic has a few subjects, openings
and questions (the n-th of each belong together); the details (a weekday, a job number, an
integration) are drawn per mail, so that a few hundred mails read like different people on
different days.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    key: str
    subjects: tuple[str, ...]
    openings: tuple[str, ...]
    details: tuple[str, ...]
    asks: tuple[str, ...]


TOPICS = (
    Topic(
        "dispatch-board",
        ("Dispatch board freezes when dragging jobs", "Board very slow since {weekday}"),
        (
            "Since {weekday} the dispatch board freezes for several seconds whenever I drag a "
            "job onto a technician.",
            "Our dispatchers say the board has become very slow, especially in the mornings.",
        ),
        (
            "We have {technicians} technicians on the board and it happens in Chrome and Edge.",
            "It is worst on the week view; the day view is fine.",
            "Job {job} moved to the wrong technician after the freeze.",
        ),
        ("Is this something on your side?", "Can you have a look before Monday's planning?"),
    ),
    Topic(
        "technician-app",
        ("Technician app logs people out", "App crashes when adding photos"),
        (
            "Several of our technicians get logged out of the Kitewire app during the day.",
            "The technician app closes itself when a technician adds more than two photos to "
            "a job.",
        ),
        (
            "They are on Android {android} and the latest app version.",
            "It started after the update on {weekday}.",
            "Job {job} lost its signature because of it.",
        ),
        ("Is there a fix planned?", "What can we tell the technicians meanwhile?"),
    ),
    Topic(
        "invoices",
        ("Question about invoice {invoice}", "We were charged twice this month"),
        (
            "Invoice {invoice} shows {seats} seats, but we reduced to {fewer} last month.",
            "Our card was charged twice for this month's subscription.",
        ),
        (
            "Our finance team needs a corrected invoice before the month closes.",
            "The VAT number on the invoice is also missing.",
        ),
        ("Could you send a corrected invoice?", "Please refund the second charge."),
    ),
    Topic(
        "integration",
        ("{integration} sync stopped", "Invoices not reaching {integration}"),
        (
            "The {integration} sync has stopped: nothing since {weekday}.",
            "Completed jobs are no longer turning into invoices in {integration}.",
        ),
        (
            "The integration page says connected, and there is no error.",
            "We reconnected it twice already.",
            "About {count} jobs are missing on the other side.",
        ),
        ("Can you see what is failing?", "How do we get the missing ones across?"),
    ),
    Topic(
        "routes",
        ("Route optimisation ignores time windows", "Odd routes today"),
        (
            "The route optimiser keeps ignoring the customers' time windows.",
            "Today's optimised routes sent {name} across town twice.",
        ),
        (
            "Job {job} had a window of 8-10 and was planned at 14:30.",
            "We have traffic-aware routing switched on.",
        ),
        ("Is there a setting we are missing?", "Could someone look at today's plan?"),
    ),
    Topic(
        "sms",
        ("Customers not getting the on-my-way SMS", "SMS arrive in English"),
        (
            "Our customers stopped receiving the on-my-way text messages.",
            "The reminder SMS go out in English although our account is set to {language}.",
        ),
        ("It affects all technicians.", "The message log shows them as sent."),
        ("Can you check the SMS provider?", "Where do we change the language?"),
    ),
    Topic(
        "feature-request",
        ("Feature request: {feature}", "Would love {feature}"),
        (
            "We would love to have {feature} in Kitewire.",
            "One thing our team keeps asking for is {feature}.",
        ),
        (
            "Right now we keep a spreadsheet next to the board for it.",
            "Our old system had it and people miss it.",
            "It would save each dispatcher about half an hour a day.",
        ),
        ("Is it on the roadmap?", "Happy to show you how we work today."),
    ),
    Topic(
        "onboarding",
        ("Importing our customer list", "Help with setting up teams"),
        (
            "We are importing our {count} customer sites into Kitewire, and the import says "
            "row {row} has an invalid postcode, but it looks right to us.",
            "We are new to Kitewire and not sure how to set up our regional teams.",
        ),
        (
            "We have three depots and want each dispatcher to see only theirs.",
            "We are moving over from spreadsheets.",
        ),
        ("Could we get a short call?", "Is there a guide for this?"),
    ),
    Topic(
        "praise",
        ("Thank you!", "The new week view is great"),
        (
            "Thanks to your team for the quick help last week.",
            "Just wanted to say the new week view has made Monday planning so much easier.",
        ),
        ("The technicians like the new app too.", "We planned {count} jobs in half the time."),
        ("Keep it up!", "Looking forward to what comes next."),
    ),
    Topic(
        "access",
        ("Cannot log in after password reset", "New dispatcher has no access"),
        (
            "I reset my password and now the login page just reloads.",
            "We added {name} as a dispatcher but they cannot see the board.",
        ),
        ("We use single sign-on with Microsoft.", "We tried in a private window as well."),
        ("Can you check the account?", "What are we missing?"),
    ),
)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
INTEGRATIONS = ("QuickBooks", "Xero", "Salesforce", "HubSpot", "Sage", "DATEV")
FEATURES = (
    "recurring jobs every other week",
    "a map view on the technician app",
    "customer signatures on quotes",
    "exporting timesheets to payroll",
    "colour-coding jobs by contract",
    "spare-part stock per van",
)
LANGUAGES = ("German", "French", "Dutch", "Swedish", "Danish")
COLLEAGUES = ("Sam", "Kim", "Alex", "Robin", "Jo", "Chris")

FOLLOW_UPS = (
    "Thanks, that worked.",
    "It happened again this morning, job {job} this time.",
    "That helps, but the second problem is still there.",
    "Great, thank you for the quick answer!",
    "We tried that and it did not change anything, unfortunately.",
)
NUDGES = (
    "Any update on this? It is still happening.",
    "Just checking whether you saw my mail below.",
)
REPLIES = (
    "Thanks for letting us know. We could reproduce it and a fix goes out with this week's "
    "release; I will write again when it is live.",
    "Thank you for the details. Could you send us a screenshot and the time it last happened?",
    "I have corrected this on your account. You should see the change within the hour.",
    "Good question! This is under Settings, then Notifications. Let me know if it helps.",
    "Thanks for the suggestion, I have passed it to the product team, who are looking at it "
    "for next quarter.",
)
OUT_OF_OFFICE = (
    "I am out of the office until {weekday} with limited access to e-mail. For urgent "
    "scheduling questions please call the office."
)
NEWSLETTERS = (
    ("Field Service Weekly: five ways to cut windshield time", "fsweekly.example"),
    ("Your monthly SMS usage report", "sms-gateway.example"),
)
