"""Plain forms for the portal's pages. They parse and cap what a person typed; the services
decide what is allowed, and their ``ValidationError`` is put back on the form by the view."""

import json
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from portal import selectors, services
from portal.access import User
from portal.fields import IdModelChoiceField
from portal.imports import split_list
from portal.models import (
    Account,
    IdentityKind,
    NorthStarMeasurement,
    Role,
    Segment,
    Tier,
    UserProfile,
    ValueStream,
)
from portal.validation import MAX_SEARCH_LENGTH, json_loads, validate_search, validation_messages

ATTRIBUTES_NOT_JSON = 'Attributes must be valid JSON, for example {"plan_seats": 12}.'
UNKNOWN_USER = "No active user has the username or e-mail {value!r}."
DATE_RANGE_REVERSED = "The start date must not be after the end date."
LIST_HELP = "Separate several with commas, spaces or new lines."


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on the named field when the form has
    one, otherwise as an error of the whole form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            field = name if name in form.fields else None
            form.add_error(field, validation_messages(ValidationError(errors)))
    else:
        form.add_error(None, validation_messages(error))


def choices_from(visible: QuerySet) -> QuerySet:
    """The rows of a selector's queryset as plain choices, by name: without its annotations and
    prefetches, which a select box does not need."""
    return visible.model.objects.filter(pk__in=visible.values("pk")).order_by("name")


# Customers and accounts --------------------------------------------------------------------


class CustomerFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=MAX_SEARCH_LENGTH,
        validators=[validate_search],
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, e-mail, account or external id"}
        ),
    )
    tier = forms.ChoiceField(
        label="Tier", required=False, choices=[("", "Any tier"), *Tier.choices]
    )
    account = IdModelChoiceField(
        label="Account",
        required=False,
        queryset=Account.objects.none(),
        empty_label="Any account",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = choices_from(selectors.account_list(user=user))


class AccountFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=MAX_SEARCH_LENGTH,
        validators=[validate_search],
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, domain or external id"}
        ),
    )
    segment = forms.ChoiceField(
        label="Segment", required=False, choices=[("", "Any segment"), *Segment.choices]
    )


IDENTITY_LINE_INVALID = (
    "Write each identity on its own line as kind: handle, for example "
    "mastodon: alice@mastodon.social (kinds: {kinds})."
)


def identities_parse(text: str) -> list[tuple[str, str]]:
    """The ``kind: handle`` lines of the identities box as pairs, each checked."""
    pairs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        kind, separator, handle = line.partition(":")
        if not separator:
            raise ValidationError(
                IDENTITY_LINE_INVALID.format(kinds=", ".join(IdentityKind.values))
            )
        pairs.append(services.identity_clean(kind.strip().lower(), handle))
    return pairs


class CustomerForm(forms.Form):
    email = forms.CharField(
        label="E-mail",
        max_length=254,
        required=False,
        widget=forms.EmailInput(),
        help_text="Leave empty for someone known only by a handle on another channel.",
    )
    name = forms.CharField(label="Name", max_length=200, required=False)
    account = IdModelChoiceField(
        label="Account", required=False, queryset=Account.objects.none(), empty_label="No account"
    )
    tier = forms.ChoiceField(label="Tier", choices=Tier.choices, initial=Tier.STANDARD)
    external_id = forms.CharField(label="External id", max_length=100, required=False)
    other_emails = forms.CharField(
        label="Other e-mail addresses",
        required=False,
        max_length=6000,
        help_text=LIST_HELP,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    identities = forms.CharField(
        label="Identities on other channels",
        required=False,
        max_length=7000,
        help_text="One per line as kind: handle, for example mastodon: alice@mastodon.social, "
        "discourse: forum.example.com/alice or zendesk: acme.zendesk.com/12345.",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
    )
    attributes = forms.CharField(
        label="Attributes (JSON object)",
        required=False,
        max_length=40000,
        initial="{}",
        help_text='Free attributes as a JSON object, for example {"seats": 12, "region": "EU"}.',
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = choices_from(selectors.account_list(user=user))

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        return services.normalize_email(email) if email.strip() else ""

    def clean_identities(self) -> list[tuple[str, str]]:
        return identities_parse(self.cleaned_data["identities"])

    def clean_other_emails(self) -> list[str]:
        return [services.normalize_email(e) for e in split_list(self.cleaned_data["other_emails"])]

    def clean_attributes(self) -> dict[str, Any]:
        raw = self.cleaned_data["attributes"].strip()
        if not raw:
            return {}
        try:
            value = json_loads(raw)
        except ValueError as error:
            raise ValidationError(ATTRIBUTES_NOT_JSON) from error
        return services.validate_attributes(value)

    @staticmethod
    def initial_for(customer) -> dict[str, Any]:
        return {
            "email": customer.email,
            "name": customer.name,
            "account": customer.account_id,
            "tier": customer.tier,
            "external_id": customer.external_id,
            "other_emails": "\n".join(e.email for e in customer.other_emails.all()),
            "identities": "\n".join(f"{i.kind}: {i.handle}" for i in customer.identities.all()),
            "attributes": json.dumps(customer.attributes, indent=2, ensure_ascii=False),
        }


class CustomerMergeSearchForm(forms.Form):
    q = forms.CharField(
        label="Find the customer to merge into",
        required=False,
        max_length=MAX_SEARCH_LENGTH,
        validators=[validate_search],
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, e-mail, handle or external id"}
        ),
    )


class CustomerMergeForm(forms.Form):
    """The customer to merge into, picked from a search's results; ``confirm`` is set by the
    confirmation page's button, which alone merges."""

    into = IdModelChoiceField(
        label="Merge into", queryset=Account.objects.none(), widget=forms.RadioSelect
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Merged and erased customers included, so that the service names the refusal.
        self.fields["into"].queryset = selectors.customer_list(user=user, include_merged=True)


class AccountForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    domains = forms.CharField(
        label="E-mail domains",
        required=False,
        max_length=5000,
        help_text="For example example.com, example.org. " + LIST_HELP,
    )
    plan = forms.CharField(label="Plan", max_length=60, required=False)
    segment = forms.ChoiceField(
        label="Segment", required=False, choices=[("", "No segment"), *Segment.choices]
    )
    # The model's own form field: the same digit limits, read by the portal's number rule.
    mrr = Account._meta.get_field("mrr").formfield(
        label="MRR (monthly recurring revenue)", min_value=0, initial=0
    )
    owner = IdModelChoiceField(
        label="Owner", required=False, queryset=Account.objects.none(), empty_label="No owner"
    )
    external_id = forms.CharField(label="External id", max_length=100, required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = selectors.user_lookup_list(user=user)

    def clean_domains(self) -> list[str]:
        return split_list(self.cleaned_data["domains"])

    @staticmethod
    def initial_for(account) -> dict[str, Any]:
        return {
            "name": account.name,
            "domains": ", ".join(d.domain for d in account.domains.all()),
            "plan": account.plan,
            "segment": account.segment,
            "mrr": account.mrr,
            "owner": account.owner_id,
            "external_id": account.external_id,
        }


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


# North Star --------------------------------------------------------------------------------


class NorthStarMetricForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)
    definition = forms.CharField(
        label="Definition",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What is counted, and why it tells whether customers get value.",
    )
    unit = forms.CharField(label="Unit", max_length=40, required=False)


class MeasurementForm(forms.Form):
    measured_on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    value = NorthStarMeasurement._meta.get_field("value").formfield(label="Value")
    note = forms.CharField(label="Note", max_length=500, required=False)


class MeasurementFilterForm(forms.Form):
    """The ``from`` and ``to`` query parameters (inclusive dates); both optional."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in (("from", "From"), ("to", "To")):
            self.fields[name] = forms.DateField(
                label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            raise ValidationError(DATE_RANGE_REVERSED)
        return cleaned


# Teams, members and value streams ----------------------------------------------------------


class ValueStreamForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TeamForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)
    mission = forms.CharField(
        label="Mission", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    value_stream = IdModelChoiceField(
        label="Value stream",
        required=False,
        queryset=ValueStream.objects.none(),
        empty_label="No value stream",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["value_stream"].queryset = choices_from(selectors.value_stream_list(user=user))


class TeamCreateForm(TeamForm):
    slug = forms.SlugField(
        label="Short name",
        required=False,
        max_length=60,
        allow_unicode=True,
        help_text="Used in addresses; made from the name when left empty.",
    )
    field_order = ["name", "slug", "mission", "value_stream"]


class MemberAddForm(forms.Form):
    user = forms.CharField(label="Username or e-mail", max_length=254)
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        self.actor = actor
        super().__init__(*args, **kwargs)

    def clean_user(self):
        value = self.cleaned_data["user"].strip()
        user = selectors.user_find_by_login(user=self.actor, login=value)
        if user is None:
            raise ValidationError(UNKNOWN_USER.format(value=value))
        return user


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(
        label="Role", choices=Role.choices, error_messages={"invalid_choice": services.INVALID_ROLE}
    )


class MemberRemoveForm(forms.Form):
    """Nothing to fill in: the form carries the service's refusal (removing the last admin) back
    to the button that asked, like every other form on the team page."""


class ConfirmForm(forms.Form):
    """A confirmation page's button (deleting, erasing): nothing to fill in; the form carries
    the service's refusal back to the page that asked."""


# A person's profile ------------------------------------------------------------------------


def _time_zone_choices() -> list[tuple[str, str]]:
    default = ("", f"The portal's default ({settings.TIME_ZONE})")
    return [default, *((zone, zone) for zone in sorted(services.available_time_zones()))]


class ProfileForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        choices=_time_zone_choices,
        help_text="Times in the portal and in e-mails are shown in this zone.",
    )
    email_digest = forms.BooleanField(
        label="E-mail me a digest of my unread notifications (at most once an hour)",
        required=False,
    )

    @classmethod
    def initial_for(cls, profile: UserProfile) -> dict[str, Any]:
        return {"time_zone": profile.time_zone, "email_digest": profile.email_digest}
