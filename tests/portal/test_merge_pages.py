"""Directory pages for customers without an address, with identities, and the merge pages
(plain forms, no JavaScript)."""

import html

import pytest
from django.urls import reverse

from portal import services
from portal.forms import IDENTITY_LINE_INVALID
from portal.models import Customer, CustomerIdentity, IdentityKind
from portal.views.directory import CUSTOMER_WAS_MERGED, CUSTOMERS_MERGED
from tests.factories import AccountFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(world):
    forum = Customer.objects.create(name="Alice (forum)")
    CustomerIdentity.objects.create(
        customer=forum, kind=IdentityKind.DISCOURSE, handle="forum.example.com/alice"
    )
    known = CustomerFactory(
        name="Alice Doe", email="alice@acme.test", account=AccountFactory(name="Acme")
    )
    return forum, known


def merge_url(customer) -> str:
    return reverse("portal:customer_merge", args=[customer.pk])


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_addressless_customer_shows_no_email_and_identities_on_pages(client, world, pair):
    forum, _known = pair
    client.force_login(world.viewer_a)
    detail = text(client.get(reverse("portal:customer_detail", args=[forum.pk])))
    assert "no e-mail address" in detail
    assert "forum.example.com/alice" in detail
    listing = text(client.get(reverse("portal:customer_list"), {"q": "forum.example"}))
    assert "Alice (forum)" in listing
    assert "no e-mail address: forum.example.com/alice" in listing
    assert "Alice Doe" not in listing


def test_customer_form_saves_without_email_and_with_identities(client, world):
    client.force_login(world.agent_a)
    response = client.post(
        reverse("portal:customer_create"),
        {
            "email": "",
            "name": "Bob",
            "tier": "standard",
            "identities": "mastodon: bob@mastodon.social\n\nZendesk: acme.zendesk.com/42\n",
            "attributes": "{}",
        },
    )
    assert response.status_code == 302
    bob = Customer.objects.get(name="Bob")
    assert bob.email == ""
    assert sorted(bob.identities.values_list("kind", "handle")) == [
        ("mastodon", "bob@mastodon.social"),
        ("zendesk", "acme.zendesk.com/42"),
    ]
    edit = text(client.get(reverse("portal:customer_edit", args=[bob.pk])))
    assert "mastodon: bob@mastodon.social" in edit


def test_customer_form_refuses_a_bad_identity_line_and_saves_nothing(client, world):
    client.force_login(world.agent_a)
    for line, message in (
        ("bob@mastodon.social", IDENTITY_LINE_INVALID.format(kinds="mastodon, discourse, zendesk")),
        ("twitter: bob", services.IDENTITY_KIND_INVALID),
    ):
        response = client.post(
            reverse("portal:customer_create"),
            {"name": "Bob", "tier": "standard", "identities": line, "attributes": "{}"},
        )
        assert response.status_code == 200
        assert message in text(response)
    assert not Customer.objects.exists()


def test_merge_search_lists_other_customers_to_pick(client, world, pair):
    forum, known = pair
    client.force_login(world.agent_a)
    page = text(client.get(merge_url(forum), {"q": "Alice"}))
    assert f'name="into" value="{known.pk}"' in page
    assert f'name="into" value="{forum.pk}"' not in page  # not itself
    assert "alice@acme.test" in page
    empty = text(client.get(merge_url(forum), {"q": "nobody-like-this"}))
    assert "No other customer matches" in empty


def test_merge_pick_shows_what_moves_then_confirm_merges_and_redirects(client, world, pair):
    forum, known = pair
    client.force_login(world.agent_a)
    confirm = client.post(merge_url(forum), {"into": known.pk})
    assert confirm.status_code == 200
    page = text(confirm)
    assert "Merge Alice (forum) into Alice Doe?" in page
    assert "The identities Discourse user forum.example.com/alice move to Alice Doe." in page
    assert 'name="confirm"' in page
    forum.refresh_from_db()
    assert forum.merged_into is None  # nothing merged before the confirmation

    done = client.post(merge_url(forum), {"into": known.pk, "confirm": "on"})
    assert done.status_code == 302
    assert done["Location"] == reverse("portal:customer_detail", args=[known.pk])
    forum.refresh_from_db()
    assert forum.merged_into == known
    target_page = text(client.get(done["Location"]))
    assert CUSTOMERS_MERGED.format(source="Alice (forum)", target="Alice Doe") in target_page
    assert "forum.example.com/alice" in target_page


def test_merged_customers_page_redirects_to_the_target(client, world, pair):
    forum, known = pair
    services.customers_merge(actor=world.agent_a, source=forum, target=known)
    client.force_login(world.viewer_a)
    response = client.get(reverse("portal:customer_detail", args=[forum.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:customer_detail", args=[known.pk])
    followed = text(client.get(response["Location"]))
    assert CUSTOMER_WAS_MERGED.format(customer=forum, target="Alice Doe") in followed
    # The merged customer is gone from the list and cannot be edited or merged again.
    assert "Alice (forum)" not in text(client.get(reverse("portal:customer_list")))
    client.force_login(world.agent_a)
    assert client.get(reverse("portal:customer_edit", args=[forum.pk])).status_code == 404
    assert client.get(merge_url(forum)).status_code == 404


def test_merge_refusal_is_shown_on_the_page(client, world, pair):
    forum, known = pair
    gone = CustomerFactory(name="Gone")
    services.customers_merge(actor=world.agent_a, source=gone, target=known)
    client.force_login(world.agent_a)
    response = client.post(merge_url(forum), {"into": gone.pk, "confirm": "on"})
    assert response.status_code == 200
    assert services.MERGE_INTO_MERGED.format(target="Gone", final="Alice Doe") in text(response)
    forum.refresh_from_db()
    assert forum.merged_into is None
    bad = client.post(merge_url(forum), {"into": "999999999999999999999999", "confirm": "on"})
    assert bad.status_code == 200


def test_viewer_may_not_merge(client, world, pair):
    forum, known = pair
    client.force_login(world.viewer_a)
    assert client.get(merge_url(forum)).status_code == 403
    response = client.post(merge_url(forum), {"into": known.pk, "confirm": "on"})
    assert response.status_code == 403
    forum.refresh_from_db()
    assert forum.merged_into is None
    page = text(client.get(reverse("portal:customer_detail", args=[forum.pk])))
    assert "Merge into another customer" not in page
    client.force_login(world.agent_a)
    page = text(client.get(reverse("portal:customer_detail", args=[forum.pk])))
    assert "Merge into another customer" in page


def test_account_page_counts_and_lists_no_merged_customers(client, world):
    account = AccountFactory(name="Acme")
    source = CustomerFactory(name="Old", account=account)
    target = CustomerFactory(name="New", account=account)
    services.customers_merge(actor=world.agent_a, source=source, target=target)
    client.force_login(world.viewer_a)
    page = text(client.get(reverse("portal:account_detail", args=[account.pk])))
    assert "Customers (1)" in page
    assert "Old" not in page
