"""The feedback import on the portal's generic import pages: the upload page lists the
feedback importer's columns, an upload queues a job whose page shows its report, and the list
of imports links to it."""

import html

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from feedback.imports import FEEDBACK_IMPORTER, NEEDS_AGENT, UNKNOWN_TEAM
from feedback.models import FeedbackItem
from portal import imports
from portal.models import ImportJob, ImportStatus


def csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("feedback.csv", text.encode(), content_type="text/csv")


def test_the_upload_page_lists_every_feedback_column_with_its_help(client, world):
    client.force_login(world.agent_a)
    response = client.get(reverse("feedback:item_import"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Import feedback</h1>" in page
    for column in FEEDBACK_IMPORTER.columns:
        assert f"<code>{column.name}</code>" in page
        assert html.escape(column.help) in page
    assert html.escape(FEEDBACK_IMPORTER.matching) in page
    # The page belongs to the inbox's section of the navigation.
    assert f'href="{reverse("feedback:inbox")}" aria-current="page"' in page


def test_a_viewer_is_refused_the_upload_page(client, world):
    client.force_login(world.viewer_a)
    response = client.get(reverse("feedback:item_import"))
    assert response.status_code == 403
    assert NEEDS_AGENT in response.content.decode()


def test_an_upload_queues_a_job_whose_page_reports_each_refused_row(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(world.agent_a)
    text = "team,customer_email,text\nteam-a,ann@example.com,Hello\nteam-b,bob@example.com,Hi\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("feedback:item_import"), {"file": csv(text)})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("portal:import_job_detail", args=[job.pk])
    assert (job.kind, job.status, job.created_count, job.rejected_count) == (
        "feedback",
        ImportStatus.DONE,
        1,
        1,
    )
    assert FeedbackItem.objects.get().team == world.team_a

    page = client.get(response.url).content.decode()
    assert "<strong>1</strong> added" in page
    assert html.escape("team: " + UNKNOWN_TEAM.format(team="team-b")) in page
    assert f'href="{reverse("feedback:inbox")}">Back to feedback</a>' in page


def test_a_file_without_the_required_columns_is_a_form_error(client, world):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("feedback:item_import"), {"file": csv("customer_email,text\na@b.co,x\n")}
    )
    assert response.status_code == 200
    assert html.escape(imports.MISSING_COLUMNS.format(columns="team")) in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_list_of_imports_offers_the_feedback_import(client, world):
    client.force_login(world.agent_a)
    page = client.get(reverse("portal:import_job_list")).content.decode()
    assert f'<a href="{reverse("feedback:item_import")}">feedback</a>' in page
