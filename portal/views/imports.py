"""CSV imports on the web: the upload page of each importer, the job page with its progress
bar and report, the report as CSV, and the list of a person's recent imports."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from portal import imports, selectors
from portal.forms import CsvUploadForm, add_service_errors
from portal.imports.csvfile import DELIMITERS
from portal.views.common import paginate, redirect_after_post, render_page_or_fragment

# The job page shows this many refused rows; the CSV download has all of them.
REJECTIONS_SHOWN = 200
# How often the job page asks for news while the job runs, in seconds (htmx and the
# refresh of a page without JavaScript).
POLL_SECONDS = 1

_SECTIONS = {"customers": "customers", "accounts": "customers", "north_star": "dashboards"}
_DELIMITER_NAMES = {",": "commas", ";": "semicolons"}


def import_upload_page(request: HttpRequest, *, kind: str) -> HttpResponse:
    """GET shows the importer's columns, caps and separators with the upload form; a valid
    POST stores the file, queues its job and redirects to the job's page. A file that fails
    the checks of the whole file (size, encoding, header) is a form error, answered 200."""
    importer = imports.importer_get(kind)
    importer.require(request.user)
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = imports.import_job_create(
                actor=request.user, kind=kind, upload=upload, filename=upload.name
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return redirect_after_post(request, reverse("portal:import_job_detail", args=[job.pk]))
    context = {
        "section": _SECTIONS.get(kind, importer.section),
        "importer": importer,
        "form": form,
        "max_megabytes": settings.PORTAL_CSV_MAX_BYTES // (1024 * 1024),
        "delimiters": [_DELIMITER_NAMES[d] for d in DELIMITERS],
        "recent_jobs": selectors.import_job_list(user=request.user).filter(kind=kind)[:5],
    }
    return render(request, "portal/csv_import.html", context)


@login_required
def import_job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's progress while it runs (htmx polls the fragment; without JavaScript the page
    refreshes itself), then its report, which stays available."""
    job = selectors.import_job_get(user=request.user, pk=pk)
    importer = imports.IMPORTERS.get(job.kind)
    context = {
        "section": _SECTIONS.get(job.kind, importer.section if importer else "home"),
        "job": job,
        "importer": importer,
        "rejections": job.rejections.all()[:REJECTIONS_SHOWN] if job.finished else [],
        "rejections_shown": REJECTIONS_SHOWN,
        "poll_seconds": POLL_SECONDS,
    }
    return render_page_or_fragment(
        request, "portal/import_job_detail.html", "portal/partials/import_job_status.html", context
    )


@login_required
def import_job_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The refused rows of a job as CSV (line, reason), safe to open in a spreadsheet."""
    job = selectors.import_job_get(user=request.user, pk=pk)
    response = HttpResponse(
        imports.import_job_report_csv(job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
    return response


@login_required
def import_job_list(request: HttpRequest) -> HttpResponse:
    jobs = selectors.import_job_list(user=request.user)
    context = {
        "section": "home",
        "page_obj": paginate(request, jobs),
        "importers": imports.IMPORTERS,
    }
    return render_page_or_fragment(
        request, "portal/import_job_list.html", "portal/partials/import_job_results.html", context
    )
