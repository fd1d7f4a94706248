"""The North Star page: the metric, its measurements, recording and importing them."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from portal import access, selectors, services
from portal.access import User
from portal.forms import (
    MeasurementFilterForm,
    MeasurementForm,
    NorthStarMetricForm,
)
from portal.models import NorthStarMeasurement
from portal.views.common import bound_on_post, form_page, paginate
from portal.views.imports import import_upload_page

CHART_POINTS = 90
TABLE_PAGE_SIZE = 50


def chart_points(measurements) -> list[dict[str, Any]]:
    """Oldest first, as the chart draws them; values as numbers for Chart.js."""
    return [
        {"date": m.measured_on.isoformat(), "value": float(m.value)}
        for m in sorted(measurements, key=lambda m: m.measured_on)
    ]


def north_star_summary(user: User) -> dict[str, Any]:
    """The metric, its latest measurement and the recent ones for a small chart."""
    metric = selectors.north_star_get(user=user)
    recent = list(selectors.north_star_measurement_list(user=user)[:CHART_POINTS]) if metric else []
    return {
        "north_star": metric,
        "north_star_latest": recent[0] if recent else None,
        "north_star_points": chart_points(recent),
    }


def _context(
    request: HttpRequest,
    *,
    record_form: MeasurementForm | None = None,
    metric_form: NorthStarMetricForm | None = None,
) -> dict[str, Any]:
    user = request.user
    metric = selectors.north_star_get(user=user)
    filter_form = MeasurementFilterForm(request.GET or None)
    dates = filter_form.cleaned_data if filter_form.is_valid() else {}
    measurements = selectors.north_star_measurement_list(
        user=user, date_from=dates.get("from"), date_to=dates.get("to")
    )
    page = paginate(request, measurements, TABLE_PAGE_SIZE)
    can_record = access.can_record_north_star(user)
    if record_form is None and can_record:
        record_form = MeasurementForm()
    if metric_form is None and user.is_superuser and metric is None:
        metric_form = NorthStarMetricForm()
    return {
        "section": "dashboards",
        "north_star": metric,
        "filter_form": filter_form,
        "page_obj": page,
        "north_star_points": chart_points(measurements[: CHART_POINTS * 4]),
        "can_record": can_record,
        "can_edit": user.is_superuser,
        "record_form": record_form,
        "metric_form": metric_form,
    }


@login_required
def north_star(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/north_star.html", _context(request))


def _recorded(result: tuple[NorthStarMeasurement, bool]) -> tuple[str, str]:
    measurement, created = result
    verb = "Recorded" if created else "Replaced"
    return f"{verb} the value for {measurement.measured_on}.", reverse("portal:north_star")


@login_required
@require_POST
def north_star_record(request: HttpRequest) -> HttpResponse:
    access.require_north_star_recorder(request.user)
    form = MeasurementForm(request.POST)
    return form_page(
        request,
        form=form,
        save=lambda data: services.north_star_measurement_record(actor=request.user, **data),
        success=_recorded,
        template="portal/north_star.html",
        fragment_template="portal/partials/measurement_form.html",
        context=_context(request, record_form=form),
    )


@login_required
@require_http_methods(["GET", "POST"])
def north_star_edit(request: HttpRequest) -> HttpResponse:
    access.require_superuser(request.user)
    metric = selectors.north_star_get(user=request.user)
    initial = (
        {"name": metric.name, "definition": metric.definition, "unit": metric.unit}
        if metric
        else None
    )
    return form_page(
        request,
        form=NorthStarMetricForm(bound_on_post(request), initial=initial),
        save=lambda data: services.north_star_set(actor=request.user, **data),
        success=lambda saved: ("The North Star metric is saved.", reverse("portal:north_star")),
        template="portal/north_star_form.html",
        fragment_template="portal/partials/north_star_form.html",
        context={"section": "dashboards", "north_star": metric},
    )


@login_required
@require_http_methods(["GET", "POST"])
def north_star_import(request: HttpRequest) -> HttpResponse:
    return import_upload_page(request, kind="north_star")
