"""Response templates: create, change and delete the replies agents start from.

Who manages which: a team's templates are managed by the team's leads (and admins, and
superusers), as ARCHITECTURE.md gives templates to leads; shared templates (``team`` empty,
offered to every team) only by superusers, since no single team's lead should change what
every other team sends. Every member of a team reads its templates and the shared ones
(``feedback.selectors.response_template_list``); agents use them in replies.

The subject and body are checked when saved (``feedback.templating.template_validate``): an
unknown placeholder is refused by name, so an agent never sends a customer ``{{ shoe_size }}``.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from feedback.models import ResponseTemplate
from feedback.templating import template_problems
from portal import access
from portal.actors import person_or_none
from portal.models import Role, Team
from portal.services import audit
from portal.services.audit import changes_between, snapshot

TEMPLATE_NAME_REQUIRED = "Give the template a name."
TEMPLATE_NAME_TOO_LONG = "Keep the name within {limit} characters."
TEMPLATE_NAME_TAKEN = "A template named {name!r} already exists in {scope}: choose another name."
TEMPLATE_BODY_REQUIRED = "Write the text of the template."
TEMPLATE_BODY_TOO_LONG = "Keep the text within {limit} characters."
TEMPLATE_SUBJECT_TOO_LONG = "Keep the subject within {limit} characters."
SHARED_SCOPE = "the shared templates"

_FIELDS = ("name", "subject", "body")


def _limit(field: str) -> int:
    return ResponseTemplate._meta.get_field(field).max_length


def require_template_manager(actor: Any, team: Team | None) -> None:
    """Leads of the team for its templates; superusers for shared ones (403 otherwise)."""
    if team is None:
        access.require_superuser(actor)
    else:
        access.require_team_role(actor, team, Role.LEAD)


def can_manage_templates(user: Any, team: Team | None) -> bool:
    if team is None:
        return bool(user.is_authenticated and user.is_active and user.is_superuser)
    return access.has_team_role(user, team, Role.LEAD)


def _clean(name: str, subject: str, body: str) -> dict[str, str]:
    name, subject, body = (name or "").strip(), (subject or "").strip(), (body or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [TEMPLATE_NAME_REQUIRED]
    elif len(name) > _limit("name"):
        errors["name"] = [TEMPLATE_NAME_TOO_LONG.format(limit=_limit("name"))]
    if len(subject) > _limit("subject"):
        errors["subject"] = [TEMPLATE_SUBJECT_TOO_LONG.format(limit=_limit("subject"))]
    elif subject:
        problems = template_problems(subject)
        if problems:
            errors["subject"] = problems
    if not body:
        errors["body"] = [TEMPLATE_BODY_REQUIRED]
    elif len(body) > _limit("body"):
        errors["body"] = [TEMPLATE_BODY_TOO_LONG.format(limit=_limit("body"))]
    else:
        problems = template_problems(body)
        if problems:
            errors["body"] = problems
    if errors:
        raise ValidationError(errors)
    return {"name": name, "subject": subject, "body": body}


def _save(template: ResponseTemplate) -> None:
    """Insert or update under a savepoint: the unique name per team (and among the shared
    ones) is the database's to enforce, and a clash becomes an error on ``name``."""
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as error:
        scope = SHARED_SCOPE if template.team is None else str(template.team)
        raise ValidationError(
            {"name": TEMPLATE_NAME_TAKEN.format(name=template.name, scope=scope)}
        ) from error


@transaction.atomic
def template_create(
    *, actor: Any, team: Team | None, name: str, body: str, subject: str = ""
) -> ResponseTemplate:
    """A template of ``team`` (None: shared by every team)."""
    require_template_manager(actor, team)
    values = _clean(name, subject, body)
    template = ResponseTemplate(team=team, created_by=person_or_none(actor), **values)
    _save(template)
    audit(
        actor=actor,
        action="response_template.created",
        target=template,
        team=team,
        changes=changes_between(None, snapshot(template, _FIELDS)),
    )
    return template


@transaction.atomic
def template_update(
    *,
    actor: Any,
    template: ResponseTemplate,
    name: str | None = None,
    subject: str | None = None,
    body: str | None = None,
) -> ResponseTemplate:
    """Change what is given; the rest stays. The team of a template does not change."""
    require_template_manager(actor, template.team)
    template = ResponseTemplate.objects.select_for_update().get(pk=template.pk)
    before = snapshot(template, _FIELDS)
    values = _clean(
        template.name if name is None else name,
        template.subject if subject is None else subject,
        template.body if body is None else body,
    )
    for field, value in values.items():
        setattr(template, field, value)
    _save(template)
    changes = changes_between(before, snapshot(template, _FIELDS))
    if changes:
        audit(
            actor=actor,
            action="response_template.updated",
            target=template,
            team=template.team,
            changes=changes,
        )
    return template


@transaction.atomic
def template_delete(*, actor: Any, template: ResponseTemplate) -> None:
    require_template_manager(actor, template.team)
    audit(
        actor=actor,
        action="response_template.deleted",
        target=template,
        team=template.team,
        changes=changes_between(snapshot(template, _FIELDS), None),
    )
    template.delete()
