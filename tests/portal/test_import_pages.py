"""The import pages (portal/views/imports.py): the upload page states what the code does, the
job page polls while it runs and ends on its report, both as a page and as a fragment."""

import html

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal import imports
from portal.models import ImportJob, ImportStatus
from portal.views.imports import POLL_SECONDS

HX = {"HTTP_HX_REQUEST": "true"}


def csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")


def test_the_upload_page_states_caps_separators_and_every_declared_column(client, world, settings):
    settings.PORTAL_CSV_MAX_BYTES = 7 * 1024 * 1024
    client.force_login(world.agent_a)
    page = client.get(reverse("portal:customer_import")).content.decode()
    assert "at most 7 MB" in page
    assert "commas or semicolons" in page
    for column in imports.IMPORTERS["customers"].columns:
        assert f"<code>{column.name}</code>" in page
        assert html.escape(column.help) in page
    # The further addresses are split on what split_list splits on, and the page says so.
    assert "separated by semicolons, commas or spaces" in page
    assert 'enctype="multipart/form-data"' in page


def test_a_file_with_a_repeated_column_is_a_form_error_answered_200(client, world):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:customer_import"), {"file": csv("email,name,name\na@b.c,A,B\n")}
    )
    assert response.status_code == 200
    assert (
        html.escape(imports.DUPLICATE_COLUMNS.format(columns="name")) in response.content.decode()
    )
    assert not ImportJob.objects.exists()


def test_an_htmx_upload_is_redirected_with_hx_redirect(client, world):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:customer_import"), {"file": csv("email\na@example.com\n")}, **HX
    )
    job = ImportJob.objects.get()
    assert response["HX-Redirect"] == reverse("portal:import_job_detail", args=[job.pk])


def _job(world, **fields) -> ImportJob:
    defaults = {"kind": "customers", "actor": world.agent_a, "file": "imports/x.csv"}
    return ImportJob.objects.create(**{**defaults, **fields})


def test_a_running_job_polls_its_fragment_and_refreshes_without_javascript(client, world):
    job = _job(world, status=ImportStatus.RUNNING, rows_total=2000, rows_processed=500)
    client.force_login(world.agent_a)
    url = reverse("portal:import_job_detail", args=[job.pk])
    page = client.get(url).content.decode()
    assert "<html" in page
    assert f'<noscript><meta http-equiv="refresh" content="{POLL_SECONDS}"></noscript>' in page
    assert '<progress id="import-progress" value="500" max="2000"' in page
    fragment = client.get(url, **HX)
    content = fragment.content.decode()
    assert "<html" not in content
    assert content.strip().startswith('<section id="import-job"')
    assert f'hx-get="{url}" hx-trigger="every {POLL_SECONDS}s"' in content
    assert "HX-Request" in fragment["Vary"]


def test_a_finished_job_stops_polling_and_shows_its_report(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(world.agent_a)
    text = "email\nok@example.com\nbroken\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:customer_import"), {"file": csv(text)})
    page = client.get(response["Location"]).content.decode()
    assert "hx-trigger" not in page.split('id="import-job"')[1]
    assert "http-equiv" not in page
    assert 'id="import-report"' in page
    assert "<strong>1</strong> added" in page and "<strong>1</strong> refused" in page
    job = ImportJob.objects.get()
    download = client.get(reverse("portal:import_job_report", args=[job.pk]))
    assert download["Content-Type"].startswith("text/csv")
    assert download.content.decode().splitlines()[1].startswith("3,")


def test_a_large_file_imports_in_chunks_and_the_page_counts_them(
    client, world, settings, django_capture_on_commit_callbacks
):
    rows = settings.PORTAL_IMPORT_CHUNK_ROWS + 10
    text = "email\n" + "".join(f"c{n}@example.com\n" for n in range(rows))
    client.force_login(world.agent_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:customer_import"), {"file": csv(text)})
    page = client.get(response["Location"]).content.decode()
    assert f"{rows} of {rows} rows processed" in page


def test_the_list_shows_a_person_their_own_imports_only(client, world):
    own = _job(world, filename="mine.csv")
    _job(world, actor=world.lead_a, filename="theirs.csv")
    client.force_login(world.agent_a)
    page = client.get(reverse("portal:import_job_list")).content.decode()
    assert "mine.csv" in page and "theirs.csv" not in page
    assert reverse("portal:import_job_detail", args=[own.pk]) in page
    assert "<html" not in client.get(reverse("portal:import_job_list"), **HX).content.decode()
    client.force_login(world.superuser)
    assert "theirs.csv" in client.get(reverse("portal:import_job_list")).content.decode()
