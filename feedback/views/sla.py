"""A team's service levels and priority customers, under its settings
(``/settings/teams/<slug>/sla/``): the SLA policy of each priority (first response and
resolution, in calendar hours) and the plans and MRR that make a customer's items high priority.

Every member of the team reads the page (agents work to these times); its leads change it.
Another team's slug answers 404, a member below lead who posts 403. Each form posts plainly
(post/redirect/get) or through htmx, which swaps the form with its errors in place.
"""

import re
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from feedback.models import ItemPriority
from feedback.services import sla_settings
from feedback.services.sla_settings import MAX_HOURS, MAX_PLAN_LENGTH, MAX_PLANS
from portal import access
from portal import selectors as portal_selectors
from portal.models import Role, Team
from portal.views.common import bound_on_post, form_page

POLICIES_SAVED = "SLA policies of {team} saved. Items that arrive from now on follow them."
RULES_SAVED = "Priority customer rules of {team} saved. They apply to items from now on."
BOTH_OR_NEITHER = "Give both hours, or leave both empty for no policy at this priority."
FIELDS = ("first_response_hours", "resolution_hours")
PLAN_SEPARATORS = re.compile(r"[\n,]")


def _hours_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=1,
        max_value=MAX_HOURS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class SlaPoliciesForm(forms.Form):
    """Hours per priority; a priority with both fields empty has no policy."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for priority, label in ItemPriority.choices:
            self.fields[f"{priority}_first_response_hours"] = _hours_field(
                f"{label}: first response (hours)"
            )
            self.fields[f"{priority}_resolution_hours"] = _hours_field(
                f"{label}: resolution (hours)"
            )

    def rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (label, [self[f"{priority}_{field}"] for field in FIELDS])
            for priority, label in ItemPriority.choices
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for priority in ItemPriority.values:
            first, resolution = (data.get(f"{priority}_{field}") for field in FIELDS)
            names = [f"{priority}_{field}" for field in FIELDS]
            if any(name in self.errors for name in names):
                continue
            if (first is None) != (resolution is None):
                self.add_error(names[0] if first is None else names[1], BOTH_OR_NEITHER)
            elif first is not None:
                # The service checks each policy again on save, but it is only asked once the
                # whole form is valid: checking here too names every priority's problem at once.
                try:
                    sla_settings.policy_clean(priority, first, resolution)
                except ValidationError as error:
                    for field, messages in error.message_dict.items():
                        for message in messages:
                            self.add_error(f"{priority}_{field}", message)
        return data

    def hours(self) -> dict[str, tuple[int, int] | None]:
        data = self.cleaned_data
        found: dict[str, tuple[int, int] | None] = {}
        for priority in ItemPriority.values:
            first, resolution = (data.get(f"{priority}_{field}") for field in FIELDS)
            found[priority] = None if first is None else (first, resolution)
        return found


class PriorityRulesForm(forms.Form):
    priority_plans = forms.CharField(
        label="Priority plans",
        required=False,
        max_length=MAX_PLANS * (MAX_PLAN_LENGTH + 2),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One plan name per line (or separated by commas), as on the accounts; "
        "case does not matter. Their customers' items are high priority.",
    )
    priority_mrr_threshold = forms.CharField(
        label="MRR threshold",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text="Customers of accounts with at least this monthly recurring revenue are high "
        "priority. Empty: no threshold.",
    )

    def plans(self) -> list[str]:
        text = self.cleaned_data.get("priority_plans", "")
        return [part for part in PLAN_SEPARATORS.split(text) if part.strip()]


def _team(request: HttpRequest, slug: str) -> tuple[Team, bool]:
    """The team of the URL for its members (404 for another team) and whether the user leads
    it; a POST needs the lead role (403)."""
    team = portal_selectors.team_get(user=request.user, slug=slug)
    access.require_team_role(request.user, team, Role.VIEWER)
    if request.method == "POST":
        access.require_team_role(request.user, team, Role.LEAD)
    return team, access.has_team_role(request.user, team, Role.LEAD)


def _policies_initial(team: Team) -> dict[str, int]:
    initial = {}
    for policy in team.sla_policies.all():
        for field in FIELDS:
            initial[f"{policy.priority}_{field}"] = getattr(policy, field)
    return initial


def _rules_initial(team: Team) -> dict[str, str]:
    settings = sla_settings.inbox_settings_for(team)
    threshold = settings.priority_mrr_threshold
    return {
        "priority_plans": "\n".join(settings.priority_plans or []),
        "priority_mrr_threshold": "" if threshold is None else f"{threshold:.2f}",
    }


def _context(team: Team, can_manage: bool, **forms_: forms.Form) -> dict[str, Any]:
    settings = sla_settings.inbox_settings_for(team)
    policies = {policy.priority: policy for policy in team.sla_policies.all()}
    return {
        "section": "settings",
        "team": team,
        "can_manage": can_manage,
        "policy_rows": [(label, policies.get(value)) for value, label in ItemPriority.choices],
        "inbox_settings": settings,
        "policies_form": forms_.get("policies_form")
        or SlaPoliciesForm(initial=_policies_initial(team)),
        "rules_form": forms_.get("rules_form") or PriorityRulesForm(initial=_rules_initial(team)),
        "policies_url": reverse("feedback:sla_settings", args=[team.slug]),
        "rules_url": reverse("feedback:sla_rules", args=[team.slug]),
    }


def _saved(message: str, team: Team):
    url = reverse("feedback:sla_settings", args=[team.slug])
    return lambda _saved: (message.format(team=team), url)


@login_required
@require_http_methods(["GET", "POST"])
def sla_settings_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The page; a POST saves the SLA policies."""
    team, can_manage = _team(request, slug)
    form = SlaPoliciesForm(bound_on_post(request), initial=_policies_initial(team))
    return form_page(
        request,
        form=form,
        save=lambda data: sla_settings.sla_policies_set(
            actor=request.user, team=team, hours=form.hours()
        ),
        success=_saved(POLICIES_SAVED, team),
        template="feedback/sla_settings.html",
        fragment_template="feedback/partials/sla_policies_form.html",
        context=_context(team, can_manage, policies_form=form),
    )


@login_required
@require_POST
def sla_rules(request: HttpRequest, slug: str) -> HttpResponse:
    """Save the rules for priority customers (plans, MRR threshold)."""
    team, can_manage = _team(request, slug)
    form = PriorityRulesForm(request.POST)

    def save(data: dict[str, Any]):
        return sla_settings.inbox_settings_update(
            actor=request.user,
            team=team,
            priority_plans=form.plans(),
            priority_mrr_threshold=data.get("priority_mrr_threshold") or None,
        )

    return form_page(
        request,
        form=form,
        save=save,
        success=_saved(RULES_SAVED, team),
        template="feedback/sla_settings.html",
        fragment_template="feedback/partials/sla_rules_form.html",
        context=_context(team, can_manage, rules_form=form),
    )
