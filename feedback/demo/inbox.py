"""Customer Care's service levels in the demo: SLA policies for its high and urgent items and
its rules for priority customers (the enterprise plan, an MRR threshold).

Normal items get no policy in the demo: its mail is days old, and a policy for every item would
escalate all of them on the first run of the breach task, burying the few that matter under
hundreds of notifications. Priority customers' items do get due times, so the demo shows some
escalated at the top of the inbox and their breaches in the leads' notifications.

Built once like every demo part and only creating what is missing: a policy or settings people
changed stay as they are. The items already there get their priority and due times here, in
the seeding process, whether or not a worker runs.
"""

from decimal import Decimal

from feedback.demo.seed import TEAM_SLUG
from feedback.models import FeedbackItem, InboxSettings, ItemStatus, SlaPolicy
from feedback.services import sla
from feedback.services.sla_settings import inbox_settings_update, sla_policy_create
from portal.demo.parts import DemoContext
from portal.models import Team

# priority: (first response hours, resolution hours)
DEMO_POLICIES = {"urgent": (2, 24), "high": (8, 72)}
DEMO_PRIORITY_PLANS = ["enterprise"]
DEMO_MRR_THRESHOLD = Decimal("5000.00")


def seed_inbox_settings(ctx: DemoContext) -> None:
    team = Team.objects.filter(slug=TEAM_SLUG).first()
    if team is None:
        # People deleted the team the demo's feedback belongs to: nothing to set up.
        return
    existing = set(SlaPolicy.objects.filter(team=team).values_list("priority", flat=True))
    for priority, (first_response, resolution) in DEMO_POLICIES.items():
        if priority in existing:
            ctx.report.note("sla policies", "kept")
            continue
        sla_policy_create(
            actor=ctx.actor,
            team=team,
            priority=priority,
            first_response_hours=first_response,
            resolution_hours=resolution,
        )
        ctx.report.note("sla policies", "created")
    if InboxSettings.objects.filter(team=team).exists():
        ctx.report.note("inbox settings", "kept")
    else:
        inbox_settings_update(
            actor=ctx.actor,
            team=team,
            priority_plans=DEMO_PRIORITY_PLANS,
            priority_mrr_threshold=DEMO_MRR_THRESHOLD,
        )
        ctx.report.note("inbox settings", "created")
    waiting = (
        FeedbackItem.objects.filter(team=team, first_response_due_at__isnull=True)
        .exclude(status__in=[ItemStatus.RESOLVED, ItemStatus.SPAM])
        .values_list("pk", flat=True)
    )
    for item_id in list(waiting):
        sla.item_sla_start(item_id=item_id)
