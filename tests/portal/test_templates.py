"""How pages show what is empty: one way, "—", everywhere (not "none" in one row and "—" in
the next)."""

from pathlib import Path

from django.conf import settings
from django.urls import reverse

from tests.factories import AccountFactory, CustomerFactory

EMPTY = "—"
RETIRED = ('<span class="muted">none</span>', '<span class="muted">empty</span>')


def test_no_template_writes_an_empty_value_in_words():
    templates = Path(settings.BASE_DIR, "templates").rglob("*.html")
    offenders = [
        str(path) for path in templates if any(word in path.read_text() for word in RETIRED)
    ]
    assert offenders == []


def test_a_customer_without_account_or_other_addresses_shows_dashes(world, client):
    customer = CustomerFactory(account=None, attributes={"seats": None})
    client.force_login(world.viewer_a)
    content = client.get(reverse("portal:customer_detail", args=[customer.pk])).content.decode()
    assert content.count(f"<dd>{EMPTY}</dd>") >= 2
    assert f'<td data-label="Value">{EMPTY}</td>' in content
    assert ">none<" not in content and ">empty<" not in content


def test_an_account_without_domains_or_owner_shows_dashes(world, client):
    account = AccountFactory(owner=None)
    account.domains.all().delete()
    client.force_login(world.viewer_a)
    content = client.get(reverse("portal:account_detail", args=[account.pk])).content.decode()
    assert content.count(f"<dd>{EMPTY}</dd>") >= 2
    assert ">none<" not in content
