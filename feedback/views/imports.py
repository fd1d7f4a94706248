"""The CSV import of feedback: the portal's generic upload page for the feedback importer
(``feedback.imports``); the job page, its report and the list of imports are the portal's."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from feedback.imports import FEEDBACK_IMPORT_KIND
from portal.views.imports import import_upload_page


@login_required
@require_http_methods(["GET", "POST"])
def item_import(request: HttpRequest) -> HttpResponse:
    return import_upload_page(request, kind=FEEDBACK_IMPORT_KIND)
