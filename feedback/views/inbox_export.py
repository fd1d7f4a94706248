"""The inbox's current view as CSV (``/inbox/export.csv?<the list's parameters>``): every
item of the view, not one page, streamed as ``feedback.selectors.inbox_export_rows`` reads
them in chunks; each cell made safe for spreadsheets (``portal.imports.csvfile.safe_cell``).
A refused filter answers 400 with its message."""

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.utils import timezone
from django.utils.http import content_disposition_header

from feedback import selectors
from feedback.views.items import FILTERS_REFUSED, NO_TEAM, filter_params, with_default_status
from portal.imports.csvfile import safe_cell
from portal.selectors import current_team_get
from portal.validation import validation_messages


class _Line:
    """A file-like object whose ``write`` hands back the line written (for csv.writer)."""

    def write(self, text: str) -> str:
        return text


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line(), lineterminator="\r\n")
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


@login_required
def inbox_export(request: HttpRequest) -> HttpResponse:
    """The current view (the list's parameters) as CSV, every item, streamed."""
    team = current_team_get(request)
    if team is None:
        raise Http404(NO_TEAM)
    try:
        query = selectors.inbox_query_from_params(
            with_default_status(filter_params(request.GET)),
            user=request.user,
            team=team,
            ignore_blank=True,
        )
    except ValidationError as error:
        text = "\n".join([FILTERS_REFUSED, *validation_messages(error)])
        return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")
    rows = selectors.inbox_export_rows(user=request.user, team=team, query=query)
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    filename = f"inbox-{team.slug}-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
