"""Reads. Team scoping lives here: a user sees the teams they belong to, superusers all.
Customers, accounts and the North Star are organisation-wide and readable by every user."""

from collections.abc import Iterable
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models import (
    Count,
    IntegerField,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.http import Http404, HttpRequest

from portal import access
from portal.access import User
from portal.actors import is_system, person_name
from portal.fields import normalised_key
from portal.models import (
    Account,
    AccountDomain,
    AuditEntry,
    Customer,
    CustomerEmail,
    CustomerIdentity,
    ImportJob,
    Membership,
    NorthStarMeasurement,
    NorthStarMetric,
    Notification,
    Team,
    UserProfile,
    ValueStream,
)

ModelT = TypeVar("ModelT", bound=Model)

CURRENT_TEAM_SESSION_KEY = "portal_current_team"


def team_scope(user: User, field: str = "team") -> Q:
    """The filter that keeps rows of the teams ``user`` belongs to (superusers and the system
    actor: every team).

    ``field`` names the path from the filtered model to its team: ``"team"`` for a model with
    a team foreign key, ``"item__team"`` through a relation, ``""`` for the Team model itself.
    """
    if user.is_authenticated and user.is_active and (user.is_superuser or is_system(user)):
        return Q()
    if not (user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    lookup = f"{field}__in" if field else "pk__in"
    roles = access.team_roles_read(user)
    if roles is not None:
        # The request has read the user's teams already (the navigation does, on every page):
        # their ids, which a query compiles and plans faster than the subquery below.
        return Q(**{lookup: sorted(roles)})
    # A subquery rather than a join: filtering through the memberships join before an
    # annotation would make team_list's member_count count only the user's own membership.
    return Q(**{lookup: Membership.objects.filter(user=user).values("team_id")})


def get_or_404(queryset: QuerySet[ModelT], message: str, **lookup: Any) -> ModelT:
    """The one row of ``queryset`` matching ``lookup``, or Http404 with ``message``."""
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist as error:
        raise Http404(message) from error


def team_list(*, user: User) -> QuerySet[Team]:
    return (
        Team.objects.filter(team_scope(user, field=""))
        .select_related("value_stream")
        .annotate(member_count=Count("memberships", distinct=True))
        .order_by("name")
    )


def team_get(*, user: User, slug: str | None = None, pk: int | None = None) -> Team:
    lookup = {"slug": slug} if slug is not None else {"pk": pk}
    return get_or_404(team_list(user=user), "No such team.", **lookup)


# The request attribute holding the signed-in user's teams, read once per request.
REQUEST_TEAMS_ATTRIBUTE = "_portal_teams"


def request_team_list(request: HttpRequest) -> list[Team]:
    """The signed-in user's teams (``team_list``), read once per request, each with the user's
    own role (``my_role``, None where a superuser is no member). The roles are remembered for
    the request's access checks, so the navigation, the team switcher and every role check of a
    page cost one query. Without ``team_list``'s member count and value stream, which no page
    shows for every team (a GROUP BY over the memberships on every page)."""
    teams = getattr(request, REQUEST_TEAMS_ATTRIBUTE, None)
    if teams is None:
        user = request.user
        own_role = Membership.objects.filter(team=OuterRef("pk"), user=user).values("role")
        teams = list(
            Team.objects.filter(team_scope(user, field=""))
            .annotate(my_role=Subquery(own_role[:1]))
            .order_by("name")
        )
        access.remember_team_roles(
            user, {team.pk: team.my_role for team in teams if team.my_role is not None}
        )
        setattr(request, REQUEST_TEAMS_ATTRIBUTE, teams)
    return teams


def current_team_get(request: HttpRequest) -> Team | None:
    """The team the user chose in the team switcher in this session, else the one they chose
    last in any session (their profile remembers it), else their first team."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    teams = request_team_list(request)
    chosen = request.session.get(CURRENT_TEAM_SESSION_KEY)
    if chosen is None:
        chosen = profile_get(user=user).last_team_id
    for team in teams:
        if team.pk == chosen:
            return team
    return teams[0] if teams else None


def membership_list(*, user: User, team: Team | None = None) -> QuerySet[Membership]:
    queryset = Membership.objects.filter(team__in=team_list(user=user).values("pk"))
    if team is not None:
        queryset = queryset.filter(team=team)
    return queryset.select_related("team", "user").order_by("team__name", "user__username")


def membership_get(*, user: User, pk: int, team: Team | None = None) -> Membership:
    return get_or_404(membership_list(user=user, team=team), "No such membership.", pk=pk)


def value_stream_list(*, user: User) -> QuerySet[ValueStream]:
    if not user.is_authenticated:
        return ValueStream.objects.none()
    return ValueStream.objects.annotate(team_count=Count("teams")).order_by("name")


def value_stream_get(*, user: User, pk: int) -> ValueStream:
    return get_or_404(value_stream_list(user=user), "No such value stream.", pk=pk)


def user_lookup_list(*, user: User) -> QuerySet:
    """Active users a team admin may add to a team (the organisation's directory)."""
    if not user.is_authenticated:
        return get_user_model().objects.none()
    return get_user_model().objects.filter(is_active=True).order_by("username")


def user_find_by_login(*, user: User, login: str):
    """The active user whose username is ``login``, else the one with that e-mail address."""
    users = user_lookup_list(user=user)
    return users.filter(username=login).first() or users.filter(email__iexact=login).first()


def user_names_find(
    *, ids: Iterable[int] = (), usernames: Iterable[str] = ()
) -> tuple[dict[int, str], dict[str, str]]:
    """How pages name these people (full name, else username), by id and by username, in one
    query: the audit log records who acted by id and the people in its changes by username.
    A user no longer found is left out, for the caller to show what was recorded."""
    ids, usernames = set(ids), {name for name in usernames if name}
    if not ids and not usernames:
        return {}, {}
    model = get_user_model()
    users = model.objects.filter(Q(pk__in=ids) | Q(**{f"{model.USERNAME_FIELD}__in": usernames}))
    by_id: dict[int, str] = {}
    by_username: dict[str, str] = {}
    for person in users:
        by_id[person.pk] = by_username[person.get_username()] = person_name(person)
    return by_id, by_username


def account_list(
    *, user: User, search: str = "", segment: str = "", plan: str = ""
) -> QuerySet[Account]:
    if not user.is_authenticated:
        return Account.objects.none()
    queryset = (
        Account.objects.select_related("owner")
        .prefetch_related(Prefetch("domains", queryset=AccountDomain.objects.order_by("domain")))
        .annotate(
            customer_count=Count(
                "customers", filter=Q(customers__merged_into__isnull=True), distinct=True
            )
        )
    )
    if search:
        queryset = queryset.filter(
            Q(name__icontains=search) | Q(domains__domain__icontains=search) | Q(external_id=search)
        ).distinct()
    if segment:
        queryset = queryset.filter(segment=segment)
    if plan:
        queryset = queryset.filter(plan__iexact=plan)
    return queryset.order_by("name")


def account_get(*, user: User, pk: int) -> Account:
    return get_or_404(account_list(user=user), "No such account.", pk=pk)


def customer_list(
    *,
    user: User,
    search: str = "",
    tier: str = "",
    account_id: int | None = None,
    include_merged: bool = False,
) -> QuerySet[Customer]:
    """The directory's customers. A customer merged into another is left out unless
    ``include_merged`` (its page says where it went)."""
    if not user.is_authenticated:
        return Customer.objects.none()
    queryset = Customer.objects.select_related("account", "merged_into").prefetch_related(
        "other_emails", "identities"
    )
    if not include_merged:
        queryset = queryset.filter(merged_into__isnull=True)
    if search:
        queryset = queryset.filter(
            Q(name__icontains=search)
            | Q(email__icontains=search)
            | Q(other_emails__email__icontains=search)
            | Q(identities__handle__icontains=search)
            | Q(account__name__icontains=search)
            | Q(external_id=search)
        ).distinct()
    if tier:
        queryset = queryset.filter(tier=tier)
    if account_id is not None:
        queryset = queryset.filter(account_id=account_id)
    return queryset.order_by("name", "email")


def customer_get(*, user: User, pk: int, include_merged: bool = False) -> Customer:
    return get_or_404(
        customer_list(user=user, include_merged=include_merged), "No such customer.", pk=pk
    )


def customer_find_by_email(*, email: str) -> Customer | None:
    """The customer whose address (main or further) is ``email``, compared by normalised key
    in one indexed look-up each: how ingestion and the API find who sent something. An empty
    address finds nobody (customers known only by a handle have one); a merged customer gave
    its addresses to the customer it was merged into, and is never the answer."""
    key = normalised_key(email)
    if not key:
        return None
    live = Customer.objects.select_related("account").filter(merged_into__isnull=True)
    customer = live.filter(email_key=key).first()
    if customer is None:
        customer = live.filter(other_emails__email_key=key).first()
    return customer


def customer_ids_find_by_emails(*, emails: Iterable[str]) -> dict[str, int]:
    """The customer id of each address of ``emails`` that names one (main or further), by
    normalised key, in one query: ``customer_find_by_email`` for many addresses at once (a main
    address wins over another customer's further one, as there)."""
    keys = {normalised_key(email) for email in emails} - {""}
    if not keys:
        return {}
    # No ORDER BY (the models' default ordering) inside a UNION: SQLite refuses it.
    main = (
        Customer.objects.filter(email_key__in=keys)
        .order_by()
        .values_list("email_key", "pk", Value(0, output_field=IntegerField()))
    )
    further = (
        CustomerEmail.objects.filter(email_key__in=keys)
        .order_by()
        .values_list("email_key", "customer_id", Value(1, output_field=IntegerField()))
    )
    found: dict[str, int] = {}
    for key, customer_id, _rank in sorted(main.union(further, all=True), key=lambda row: row[2]):
        found.setdefault(key, customer_id)
    return found


def customer_ids_find_by_identities(
    *, identities: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The customer id of each ``(kind, handle)`` of ``identities`` that one holds, keyed by
    ``(kind, normalised_key(handle))``, in one query: how ingestion finds who wrote a forum
    post or a toot. A merge moves the source's identities to the target
    (``portal.services.customers_merge``), so a handle always names a live customer."""
    wanted = {(kind, normalised_key(handle)) for kind, handle in identities}
    wanted = {(kind, key) for kind, key in wanted if kind and key}
    if not wanted:
        return {}
    rows = CustomerIdentity.objects.filter(
        kind__in={kind for kind, _key in wanted},
        handle_key__in={key for _kind, key in wanted},
    ).values_list("kind", "handle_key", "customer_id")
    # The filter is a cross product of kinds and keys; keep only the pairs asked for.
    return {(kind, key): pk for kind, key, pk in rows.order_by() if (kind, key) in wanted}


def accounts_find_by_domains(*, domains: Iterable[str]) -> dict[str, Account]:
    """The account owning each e-mail domain of ``domains`` that one owns, in one query
    (domains compared as ``account_find_by_domain`` compares them)."""
    wanted = {(domain or "").strip().lower().rstrip(".") for domain in domains} - {""}
    if not wanted:
        return {}
    found = AccountDomain.objects.select_related("account").filter(domain__in=wanted)
    return {row.domain: row.account for row in found}


def account_find_by_domain(*, domain: str) -> Account | None:
    """The account that owns the e-mail ``domain`` (stored lower-case, without a dot at the
    end), if any."""
    domain = (domain or "").strip().lower().rstrip(".")
    if not domain:
        return None
    found = AccountDomain.objects.select_related("account").filter(domain=domain).first()
    return found.account if found else None


def north_star_get(*, user: User) -> NorthStarMetric | None:
    if not user.is_authenticated:
        return None
    return NorthStarMetric.objects.filter(pk=NorthStarMetric.SINGLETON_ID).first()


def north_star_measurement_list(
    *, user: User, date_from=None, date_to=None
) -> QuerySet[NorthStarMeasurement]:
    if not user.is_authenticated:
        return NorthStarMeasurement.objects.none()
    queryset = NorthStarMeasurement.objects.select_related("recorded_by")
    if date_from:
        queryset = queryset.filter(measured_on__gte=date_from)
    if date_to:
        queryset = queryset.filter(measured_on__lte=date_to)
    return queryset.order_by("-measured_on")


def north_star_measurement_get(*, user: User, pk: int) -> NorthStarMeasurement:
    return get_or_404(north_star_measurement_list(user=user), "No such measurement.", pk=pk)


# Profiles, notifications and the audit log -------------------------------------------------

PROFILE_CACHE_ATTRIBUTE = "_portal_profile"
AUDIT_HISTORY_INCLUDES: dict[type[Model], type[Model]] = {Team: Membership}


def profile_get(*, user: User) -> UserProfile:
    """The user's profile, or an unsaved one with the defaults when they never saved theirs
    (a read does not write). Read once per user object: the time zone middleware and the team
    switcher both need it on every page."""
    if user.pk is None:
        # Anonymous visitors and the system actor have no row to read and nothing to cache on.
        return UserProfile()
    profile = getattr(user, PROFILE_CACHE_ATTRIBUTE, None)
    if profile is None and get_user_model().portal_profile.is_cached(user):
        # Read along with the user (portal.auth.PortalBackend), found or not.
        profile = getattr(user, "portal_profile", None) or UserProfile(user=user)
        setattr(user, PROFILE_CACHE_ATTRIBUTE, profile)
    if profile is None:
        profile = UserProfile.objects.filter(user=user).first() or UserProfile(user=user)
        setattr(user, PROFILE_CACHE_ATTRIBUTE, profile)
    return profile


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """A person's own notifications, newest first; nobody else's, superusers included."""
    if not user.is_authenticated or user.pk is None:
        return Notification.objects.none()
    queryset = Notification.objects.filter(user=user)
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset.order_by("-created_at", "-pk")


def notification_get(*, user: User, pk: int) -> Notification:
    return get_or_404(notification_list(user=user), "No such notification.", pk=pk)


# The bell's count, read on every page, is kept per person until a notification of theirs is
# made or read (portal.services.notifications forgets it after the commit), at most this long:
# a page that counted just before such a commit may keep the old count after it, until then.
UNREAD_KEY = "notifications-unread:{user_id}"
UNREAD_KEPT_FOR = 60  # seconds


def notification_unread_count(*, user: User) -> int:
    if not user.is_authenticated or user.pk is None:
        return 0
    key = UNREAD_KEY.format(user_id=user.pk)
    count = cache.get(key)
    if count is None:
        count = notification_list(user=user, unread_only=True).count()
        cache.set(key, count, UNREAD_KEPT_FOR)
    return count


def _audit_team(target: Model) -> Team | None:
    if isinstance(target, Team):
        return target
    return getattr(target, "team", None)


def audit_list_for(*, user: User, target: Model) -> QuerySet[AuditEntry]:
    """The history of one object, newest first, for someone who may see the object: an
    organisation-wide object's history (customers, accounts, the North Star) to every user,
    a team's object's history to the team's members (superusers: every team's).

    A team's history includes what happened to its memberships, which outlive their rows."""
    team = _audit_team(target)
    if not (user.is_authenticated and user.is_active) or target.pk is None:
        return AuditEntry.objects.none()
    if team is not None and access.role_in(user, team) is None:
        return AuditEntry.objects.none()
    target_type = ContentType.objects.get_for_model(target)
    scope = Q(target_type=target_type, target_id=target.pk)
    included = AUDIT_HISTORY_INCLUDES.get(type(target))
    if included is not None:
        scope |= Q(target_type=ContentType.objects.get_for_model(included), team=team)
    return AuditEntry.objects.filter(scope).order_by("-created_at", "-pk")


def find_by_external_id(
    source: type[ModelT] | QuerySet[ModelT], external_ids: Any
) -> dict[str, ModelT]:
    """The rows whose ``external_id`` is one of ``external_ids``, by external id, in one
    indexed query: the one idempotency rule of imports, the API's create and ingestion (a
    thing sent again under the same external id is the thing already stored). Empty ids never
    match: an object without one is not identified by it."""
    wanted = {str(external_id).strip() for external_id in external_ids or ()} - {""}
    if not wanted:
        return {}
    queryset = source._default_manager.all() if isinstance(source, type) else source
    return {obj.external_id: obj for obj in queryset.filter(external_id__in=wanted)}


def import_job_list(*, user: User) -> QuerySet[ImportJob]:
    """The import jobs a person may follow: their own (superusers: everyone's)."""
    jobs = ImportJob.objects.select_related("actor", "team")
    if user.is_superuser:
        return jobs
    return jobs.filter(actor_id=user.pk)


def import_job_get(*, user: User, pk: int) -> ImportJob:
    return get_or_404(import_job_list(user=user), "No such import job.", pk=pk)
