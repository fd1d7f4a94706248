"""Reads: team scoping, the organisation-wide directory and query counts."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from portal import selectors
from portal.models import CustomerEmail, Role, Tier
from tests.factories import AccountFactory, CustomerFactory, MembershipFactory, TeamFactory


def test_team_list_shows_a_member_only_their_teams(world):
    assert list(selectors.team_list(user=world.agent_a)) == [world.team_a]
    assert list(selectors.team_list(user=world.member_b)) == [world.team_b]


def test_team_list_shows_a_superuser_every_team(world):
    assert list(selectors.team_list(user=world.superuser)) == [world.team_a, world.team_b]


def test_team_list_shows_an_outsider_and_an_anonymous_user_nothing(world):
    assert list(selectors.team_list(user=world.outsider)) == []
    assert list(selectors.team_list(user=AnonymousUser())) == []


def test_team_list_shows_an_inactive_member_nothing(world):
    world.agent_a.is_active = False
    world.agent_a.save()
    assert list(selectors.team_list(user=world.agent_a)) == []


def test_team_list_lists_each_team_once_for_a_member_of_several(world):
    MembershipFactory(user=world.agent_a, team=world.team_b, role=Role.VIEWER)
    assert list(selectors.team_list(user=world.agent_a)) == [world.team_a, world.team_b]


def test_team_list_member_count_counts_every_member_not_only_the_reader(world):
    counts = {team.name: team.member_count for team in selectors.team_list(user=world.agent_a)}
    assert counts == {"Team A": 4}
    counts = {team.name: team.member_count for team in selectors.team_list(user=world.superuser)}
    assert counts == {"Team A": 4, "Team B": 1}


def test_team_get_finds_the_members_team_by_slug_and_pk(world):
    assert selectors.team_get(user=world.viewer_a, slug="team-a") == world.team_a
    assert selectors.team_get(user=world.viewer_a, pk=world.team_a.pk) == world.team_a


def test_team_get_answers_404_for_another_team(world):
    with pytest.raises(Http404):
        selectors.team_get(user=world.admin_a, slug="team-b")
    with pytest.raises(Http404):
        selectors.team_get(user=world.admin_a, pk=world.team_b.pk)


def test_team_get_answers_404_for_an_outsider_and_an_anonymous_user(world):
    with pytest.raises(Http404):
        selectors.team_get(user=world.outsider, slug="team-a")
    with pytest.raises(Http404):
        selectors.team_get(user=AnonymousUser(), slug="team-a")


def test_membership_list_shows_only_memberships_of_the_readers_teams(world):
    usernames = [m.user.username for m in selectors.membership_list(user=world.viewer_a)]
    assert usernames == ["admin_a", "agent_a", "lead_a", "viewer_a"]
    usernames = [m.user.username for m in selectors.membership_list(user=world.member_b)]
    assert usernames == ["member_b"]


def test_membership_list_for_another_team_is_empty(world):
    assert list(selectors.membership_list(user=world.viewer_a, team=world.team_b)) == []


def test_membership_list_superuser_sees_every_team(world):
    assert selectors.membership_list(user=world.superuser).count() == 5
    assert selectors.membership_list(user=world.superuser, team=world.team_b).count() == 1


def test_membership_get_answers_404_for_another_teams_membership(world):
    other = world.member_b.memberships.get()
    with pytest.raises(Http404):
        selectors.membership_get(user=world.admin_a, pk=other.pk)
    assert selectors.membership_get(user=world.member_b, pk=other.pk) == other


@pytest.fixture
def directory(db):
    """Three customers at two accounts, one with further addresses."""
    acme = AccountFactory(name="Acme Corp", external_id="acc-1")
    globex = AccountFactory(name="Globex")
    alice = CustomerFactory(
        name="Alice Archer", email="alice@acme.test", account=acme, tier=Tier.VIP
    )
    bob = CustomerFactory(name="Bob Baker", email="bob@globex.test", account=globex)
    carol = CustomerFactory(name="Carol Cook", email="carol@home.test", account=None)
    CustomerEmail.objects.create(customer=carol, email="carol.work@globex-partner.test")
    CustomerEmail.objects.create(customer=carol, email="carol.alt@globex-partner.test")
    return {"acme": acme, "globex": globex, "alice": alice, "bob": bob, "carol": carol}


def test_customer_list_is_readable_by_every_member_but_not_anonymous(world, directory):
    assert selectors.customer_list(user=world.viewer_a).count() == 3
    assert selectors.customer_list(user=world.outsider).count() == 3
    assert list(selectors.customer_list(user=AnonymousUser())) == []


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("alice", ["alice"]),
        ("BAKER", ["bob"]),
        ("bob@globex", ["bob"]),
        ("carol.work", ["carol"]),
        ("acme corp", ["alice"]),
        ("globex", ["bob", "carol"]),
        ("nobody", []),
    ],
)
def test_customer_list_search_matches_name_email_other_email_and_account(
    world, directory, search, expected
):
    found = selectors.customer_list(user=world.viewer_a, search=search)
    assert list(found) == [directory[key] for key in expected]


def test_customer_list_search_lists_a_customer_once_when_several_other_emails_match(
    world, directory
):
    found = list(selectors.customer_list(user=world.viewer_a, search="globex-partner"))
    assert found == [directory["carol"]]


def test_customer_list_filters_by_tier_and_account(world, directory):
    vip = selectors.customer_list(user=world.viewer_a, tier=Tier.VIP)
    assert list(vip) == [directory["alice"]]
    at_globex = selectors.customer_list(user=world.viewer_a, account_id=directory["globex"].pk)
    assert list(at_globex) == [directory["bob"]]
    combined = selectors.customer_list(
        user=world.viewer_a, tier=Tier.STANDARD, account_id=directory["acme"].pk
    )
    assert list(combined) == []


def test_customer_get_answers_404_for_anonymous_and_for_a_missing_customer(world, directory):
    assert selectors.customer_get(user=world.viewer_a, pk=directory["bob"].pk) == directory["bob"]
    with pytest.raises(Http404):
        selectors.customer_get(user=AnonymousUser(), pk=directory["bob"].pk)
    with pytest.raises(Http404):
        selectors.customer_get(user=world.viewer_a, pk=directory["bob"].pk + 1000)


def test_account_list_counts_customers_per_account(world, directory):
    CustomerFactory(account=directory["acme"])
    counts = {a.name: a.customer_count for a in selectors.account_list(user=world.viewer_a)}
    assert counts == {"Acme Corp": 2, "Globex": 1}


def test_account_list_counts_customers_once_when_the_search_matches_several_domains(
    world, directory
):
    acme = directory["acme"]
    acme.domains.create(domain="acme.test")
    acme.domains.create(domain="acme-mail.test")
    found = list(selectors.account_list(user=world.viewer_a, search="acme"))
    assert found == [acme]
    assert found[0].customer_count == 1


def test_account_list_search_filters_and_anonymous(world, directory):
    assert list(selectors.account_list(user=world.viewer_a, search="acc-1")) == [directory["acme"]]
    assert list(selectors.account_list(user=world.viewer_a, plan="GROWTH")) == [
        directory["acme"],
        directory["globex"],
    ]
    assert list(selectors.account_list(user=world.viewer_a, segment="enterprise")) == []
    assert list(selectors.account_list(user=AnonymousUser())) == []


def _touch_customers(customers) -> list[tuple[str, list[str]]]:
    return [
        (
            customer.account.name if customer.account else "",
            [other.email for other in customer.other_emails.all()]
            + [identity.handle for identity in customer.identities.all()],
        )
        for customer in customers
    ]


def _many_customers(count: int) -> None:
    for number in range(count):
        customer = CustomerFactory(account=AccountFactory())
        CustomerEmail.objects.create(customer=customer, email=f"other{number}@example.test")


def test_customer_list_reads_30_customers_with_accounts_emails_and_identities_in_3_queries(
    world, django_assert_num_queries
):
    _many_customers(30)
    with django_assert_num_queries(3):
        touched = _touch_customers(selectors.customer_list(user=world.viewer_a))
    assert len(touched) == 30
    assert all(name and len(emails) == 1 for name, emails in touched)


def test_customer_list_search_query_count_does_not_grow_with_customers(
    world, django_assert_num_queries
):
    _many_customers(30)
    with django_assert_num_queries(3):
        touched = _touch_customers(selectors.customer_list(user=world.viewer_a, search="other"))
    assert len(touched) == 30


def test_account_list_query_count_does_not_grow_with_accounts(world, django_assert_max_num_queries):
    for number in range(30):
        account = AccountFactory(owner=world.lead_a)
        account.domains.create(domain=f"company{number}.test")
        CustomerFactory(account=account)
    with django_assert_max_num_queries(2):
        rows = [
            (a.owner.username, [d.domain for d in a.domains.all()], a.customer_count)
            for a in selectors.account_list(user=world.viewer_a)
        ]
    assert len(rows) == 30
    assert all(
        owner == "lead_a" and len(domains) == 1 and count == 1 for owner, domains, count in rows
    )


def test_team_list_query_count_is_constant(world, django_assert_num_queries):
    for _ in range(10):
        MembershipFactory(user=world.viewer_a, team=TeamFactory(), role=Role.VIEWER)
    with django_assert_num_queries(1):
        names = [
            (t.name, t.value_stream.name, t.member_count)
            for t in selectors.team_list(user=world.viewer_a)
        ]
    assert len(names) == 11


def test_north_star_reads_need_a_signed_in_user(world):
    assert selectors.north_star_get(user=AnonymousUser()) is None
    assert list(selectors.north_star_measurement_list(user=AnonymousUser())) == []
    assert selectors.north_star_get(user=world.viewer_a) is None
