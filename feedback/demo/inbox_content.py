"""What the demo's agents write in Customer Care's inbox (the demo part "inbox work"): the
team's tags and their colours, the words in a subject that earn each tag, response templates,
internal notes, two spam mails and the saved views. Pure data: ``inbox_work`` writes it through
the feedback services.
"""

# name: colour of its badges.
TAGS = {
    "bug": "#dc2626",
    "billing": "#16a34a",
    "feature request": "#7c3aed",
    "export": "#0891b2",
    "onboarding": "#ea580c",
    "integrations": "#2563eb",
    "performance": "#ca8a04",
    "mobile app": "#db2777",
    "praise": "#0d9488",
}

# A tag goes on every item whose subject (in lower case) contains one of its words.
TAG_WORDS = {
    "bug": (
        "crash",
        "freezes",
        "logs people out",
        "logs me out",
        "logging people out",
        "cannot log in",
        "broke",
        "not getting",
        "not gone out",
        "ignores",
        "ignored",
        "does nothing",
        "cuts off",
        "wrong",
        "does not find",
        "odd routes",
        "sent my technician",
        "no access",
        "in english",
        "not reaching",
    ),
    "billing": ("invoice", "charged", "charge", "refund", "vat number", "seats"),
    "feature request": (
        "feature request",
        "would love",
        "please add",
        "any plans",
        "needs offline",
        "it is a pain",
        "offline mode",
        "every other week",
        "map view",
    ),
    "export": ("export",),
    "onboarding": ("importing", "setting up", "second depot", "new dispatcher", "onboarding"),
    "integrations": ("sync", "datev", "xero", "quickbooks", "sage", "hubspot", "salesforce"),
    "performance": ("slow", "freezes", "battery"),
    "mobile app": ("technician app", "app crashes", "adding photos", "logs me out", "update broke"),
    "praise": (
        "thank",
        "great",
        "love the",
        "happy",
        "best job",
        "huge time",
        "finally a field",
        "crews love",
        "game changer",
        "much better",
    ),
}

SIGN_OFF = "Best regards,\n{{ agent.first_name }}\n{{ team.name }} at Kitewire"

# (key, name, subject, body): the team's own templates, managed by its lead.
TEAM_TEMPLATES = (
    (
        "bug",
        "Bug: passed to engineering",
        "We are on it",
        'Hi {{ customer.first_name|default:"there" }},\n\n'
        "Thank you for reporting this, and sorry for the trouble it is causing your team. I "
        "have reproduced it and passed the details to our engineers; I will write again here "
        "as soon as the fix is out.\n\n"
        "If it gets in the way of today's work, reply to this mail and I will look for a "
        "workaround with you.\n\n" + SIGN_OFF,
    ),
    (
        "billing",
        "Billing: invoice question",
        "Your invoice",
        'Hi {{ customer.first_name|default:"there" }},\n\n'
        "Thanks for flagging this. I have checked {{ account.name }}'s billing history "
        "and our finance team is correcting it; you will get the corrected invoice by e-mail "
        "within two working days.\n\n" + SIGN_OFF,
    ),
    (
        "feature request",
        "Feature request noted",
        "",
        'Hi {{ customer.first_name|default:"there" }},\n\n'
        "Thank you for the suggestion. I have added it to our product team's list with your "
        "use case, so it counts when they plan the next quarter. I cannot promise a date, "
        "but I will let you know when it moves.\n\n" + SIGN_OFF,
    ),
    (
        "onboarding",
        "Onboarding: import help",
        "Getting {{ account.name }} set up",
        'Hi {{ customer.first_name|default:"there" }},\n\n'
        "Happy to help you get set up. The quickest way is Settings > Import: upload your "
        "spreadsheet, match the columns and check the preview before you confirm. If you "
        "prefer, I can go through it with you on a short call this week.\n\n" + SIGN_OFF,
    ),
    (
        "details",
        "Asking for details",
        "",
        'Hi {{ customer.first_name|default:"there" }},\n\n'
        "Thanks for getting in touch about “{{ item.subject }}”. So that we can look into it, "
        "could you tell us which browser or app version you use, and roughly when it last "
        "happened? A screenshot helps too.\n\n" + SIGN_OFF,
    ),
)

# A template every team is offered, managed by a superuser.
SHARED_TEMPLATE = (
    "praise",
    "Thanks for the kind words",
    "",
    'Hi {{ customer.first_name|default:"there" }},\n\n'
    "Thank you, that made our day! I have shared your message with the whole team.\n\n" + SIGN_OFF,
)

# The template a reply starts from, by the first of the item's tags that has one.
TEMPLATE_FOR_TAG = {
    "bug": "bug",
    "performance": "bug",
    "mobile app": "bug",
    "billing": "billing",
    "feature request": "feature request",
    "export": "feature request",
    "onboarding": "onboarding",
    "praise": "praise",
}
DEFAULT_TEMPLATE = "details"

# Internal notes, by the first of the item's tags that has one.
NOTES = {
    "bug": (
        "Reproduced on the staging board with 60 technicians. Engineering has the steps; I "
        "will update the customer when the fix ships."
    ),
    "performance": (
        "Same account as last week's slow-board reports. Collecting browser timings before "
        "we take it to the platform team."
    ),
    "mobile app": (
        "Only on Android with battery optimisation on. Workaround: turn it off for the app. "
        "The fix is in 4.13, in review."
    ),
    "billing": (
        "Checked with finance: the second charge is a card authorisation that is released "
        "within five working days. Nothing to refund."
    ),
    "integrations": (
        "Their accounting connection expired after a password change on their side. Asked "
        "them to reconnect; I will check the sync log tomorrow morning."
    ),
    "onboarding": (
        "About 2,000 customers in a spreadsheet with merged cells. Offered a 20-minute call "
        "to go through the import screen together."
    ),
    "feature request": (
        "Third request for this from an enterprise account this month. Added to the product "
        "board with their use case."
    ),
}
DEFAULT_NOTE = "Customer prefers a phone call to e-mail; the number is on their record."
FAILED_REPLY_NOTE = (
    "My reply did not go out: the mail server refused the connection. Retry it from the "
    "reply once mail works again."
)

# (sender name, address, subject, text): what the agents mark as spam.
SPAM_MAILS = (
    (
        "Rank Boost Team",
        "offers@rankboost-seo.example",
        "Page one on Google in 30 days, guaranteed",
        "Hello,\n\nWe noticed your website is not on the first page for important keywords. "
        "Our SEO experts guarantee page one in 30 days or your money back.\n\n"
        "Reply YES for a free audit.\n\nRank Boost Team",
    ),
    (
        "Crypto Payments Desk",
        "partners@coinflow-pay.example",
        "Partnership: accept crypto payments today",
        "Dear partner,\n\nLet your customers pay in Bitcoin and 40 other coins with zero fees. "
        "Our partnership programme pays you 2% of every transaction.\n\n"
        "Book a call: https://coinflow-pay.example/partners\n\nCrypto Payments Desk",
    ),
)

# The saved views: the demo agent's own, and one the lead shares with the team.
AGENT_VIEW = ("My open", {"assignee": ["me"], "status": ["new", "open", "waiting"]})
SHARED_VIEW = ("Urgent & escalated", {"priority": ["urgent"], "status": ["new", "open", "waiting"]})
