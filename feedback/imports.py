"""The CSV import of feedback (issue 8, channel 4), declared for the portal's import machinery:
the upload page, the background job with its progress bar and report, and the API's
``POST …/import/`` (``ImportMixin`` with ``import_kind = FEEDBACK_IMPORT_KIND``) all read
:data:`FEEDBACK_IMPORTER`. ``FeedbackConfig.ready()`` registers it (``importer_register``):
the portal imports no app that depends on it.

One file may feed several teams: each row names its team, and the person importing must be an
agent (or more) of that team. A team they do not belong to is answered as unknown, as another
team's object is everywhere else. The rows are written by ``feedback.services.items_import_rows``
with the checks of ``item_ingest``; how a row is identified, so that the same file twice
stores nothing twice, is written there.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from feedback import services
from portal import access, selectors
from portal.imports import Column, Importer
from portal.imports.csvfile import Record
from portal.models import Role, Team
from portal.services.directory_bulk import RowsResult, row_message

FEEDBACK_IMPORT_KIND = "feedback"

NEEDS_AGENT = "Importing feedback needs the agent role in a team."
TEAM_REQUIRED = "Name the team by its slug or id."
UNKNOWN_TEAM = "You are in no team with the slug or id {team!r}."
RECEIVED_AT_INVALID = (
    "{value!r} is not an ISO 8601 time; write it as 2026-03-01T09:30:00Z or "
    "2026-03-01 09:30:00+01:00."
)

# Tags may hold spaces ("late delivery"), so unlike the lists of addresses and domains they
# are separated by semicolons or commas only.
TAG_SEPARATORS = (";", ",")


def require_feedback_importer(actor: AbstractBaseUser) -> None:
    """Who may open the import at all; each row is then checked against its own team."""
    if not access.has_role_anywhere(actor, Role.AGENT):
        raise PermissionDenied(NEEDS_AGENT)


def parse_received_at(value: str) -> datetime | None:
    """An ISO 8601 time, or None for an empty cell; a time without an offset is UTC (the API's
    convention)."""
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({"received_at": RECEIVED_AT_INVALID.format(value=value)})
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def split_tags(value: str) -> list[str]:
    for separator in TAG_SEPARATORS[1:]:
        value = value.replace(separator, TAG_SEPARATORS[0])
    return [part.strip() for part in value.split(TAG_SEPARATORS[0]) if part.strip()]


def _teams(actor: AbstractBaseUser) -> dict[str, Team]:
    """The actor's teams by slug and by id: the only teams a row may name."""
    teams: dict[str, Team] = {}
    for team in selectors.team_list(user=actor):
        teams[team.slug] = team
        teams[str(team.pk)] = team
    return teams


def _team(teams: dict[str, Team], value: str) -> Team:
    if not value:
        raise ValidationError({"team": TEAM_REQUIRED})
    team = teams.get(value) or teams.get(value.lower())
    if team is None:
        raise ValidationError({"team": UNKNOWN_TEAM.format(team=value)})
    return team


def _import_records(*, actor: AbstractBaseUser, records: Sequence[Record]) -> RowsResult:
    teams = _teams(actor)
    rows: list[services.ItemRow] = []
    refused: list[tuple[int, str]] = []
    for record in records:
        row = record.row
        try:
            rows.append(
                services.ItemRow(
                    line=record.line,
                    team=_team(teams, row.get("team", "")),
                    customer_email=row.get("customer_email", ""),
                    subject=row.get("subject", ""),
                    text=row.get("text", ""),
                    customer_name=row.get("customer_name", ""),
                    external_id=row.get("external_id", ""),
                    received_at=parse_received_at(row.get("received_at", "")),
                    tags=tuple(split_tags(row.get("tags", ""))),
                )
            )
        except ValidationError as error:
            refused.append((record.line, row_message(error)))
    result = services.items_import_rows(actor=actor, rows=rows)
    result.rejections.extend(refused)
    result.rejections.sort()
    return result


FEEDBACK_IMPORTER = Importer(
    kind=FEEDBACK_IMPORT_KIND,
    noun="feedback",
    columns=(
        Column(
            "team",
            "the team the feedback goes to, by its slug or id; you need the agent role in it",
            required=True,
        ),
        Column("customer_email", "the address of the customer who sent it", required=True),
        Column(
            "text",
            "what the customer wrote (a row may leave it empty when it has a subject)",
            required=True,
        ),
        Column("subject", "a subject line"),
        Column("customer_name", "the customer's name, used when the address is new"),
        Column("external_id", "the feedback's id in another system"),
        Column(
            "received_at",
            "when it was sent, in ISO 8601 such as 2026-03-01T09:30:00Z (a time without an "
            "offset is UTC; empty: the time of the import); not in the future",
        ),
        Column(
            "tags",
            "the team's tags, separated by semicolons or commas (a tag may hold spaces); "
            "new ones are created",
        ),
    ),
    matching=(
        "Each row becomes a new feedback item. A row with an external id that the team already "
        "has, or without one a row with the same team, customer e-mail, received_at, subject "
        "and text as one already imported, stores nothing and counts as updated: the same "
        "file twice stores nothing twice."
    ),
    require=require_feedback_importer,
    import_records=_import_records,
    list_url_name="feedback:inbox",
    upload_url_name="feedback:item_import",
    section="inbox",
)
