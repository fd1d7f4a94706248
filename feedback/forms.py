"""Forms of the feedback pages. They parse and cap what a person typed; the services decide
what is allowed.

A channel's form is chosen by its kind (``CHANNEL_FORMS``): each kind's form names the
connector settings it edits. Before the service runs, the form lets the connector check the
settings itself (``validate_config``), so that an error lands on the field it is about
("port must be a whole number ...") rather than on the form as a whole; the service checks
again, and stays the authority.

Secrets are write-only: a secret field is never rendered with a value, and on an existing
channel an empty secret keeps the stored one.
"""

from typing import Any, ClassVar

from django import forms
from django.conf import settings

from feedback.channels import ConfigError, get_connector, kind_label
from feedback.channels.imap.config import DEFAULT_FOLDER, DEFAULT_PORTS, PROVIDERS
from feedback.models import Channel, QuarantineStatus
from feedback.services import DEFAULT_POLL_INTERVAL, MAX_POLL_INTERVAL, MIN_POLL_INTERVAL
from portal.crypto import DecryptionError

SECRET_KEEP_HELP = "Leave empty to keep the stored {label}."
SECRET_REQUIRED = "Enter the {label}."
KIND_UNKNOWN = "Choose one of the channel kinds offered."
STATUS_ALL = "all"


class ChannelForm(forms.Form):
    """The fields every channel has; a subclass per kind adds its connector settings.

    ``config_fields`` are the form fields that make up the connector's config (same names);
    ``polls`` says whether the kind is polled (and so has a poll interval)."""

    kind: ClassVar[str]
    config_fields: ClassVar[tuple[str, ...]] = ()
    polls: ClassVar[bool] = True

    name = forms.CharField(label="Name", max_length=Channel._meta.get_field("name").max_length)

    def __init__(self, data: Any = None, *, channel: Channel | None = None, **kwargs: Any) -> None:
        self.channel = channel
        self.stored_config: dict[str, Any] = {}
        self.config_unreadable = False
        if channel is not None:
            try:
                self.stored_config = channel.read_config()
            except DecryptionError:
                # The page still opens; whoever saves must type the secrets again.
                self.config_unreadable = True
        kwargs.setdefault("initial", self._initial())
        super().__init__(data, **kwargs)
        if self.polls:
            self.fields["poll_interval"] = forms.IntegerField(
                label="Poll every (seconds)",
                min_value=MIN_POLL_INTERVAL,
                max_value=MAX_POLL_INTERVAL,
                initial=DEFAULT_POLL_INTERVAL,
            )
            if channel is not None:
                self.initial.setdefault("poll_interval", channel.poll_interval)
        self.secret_fields = get_connector(self.kind).secret_fields & set(self.config_fields)
        for name in self.secret_fields:
            field = self.fields[name]
            label = str(field.label).lower()
            if channel is not None and self.stored_config.get(name):
                field.required = False
                field.help_text = SECRET_KEEP_HELP.format(label=label)
            else:
                field.error_messages["required"] = SECRET_REQUIRED.format(label=label)

    def _initial(self) -> dict[str, Any]:
        if self.channel is None:
            return {}
        public = {
            key: value
            for key, value in self.stored_config.items()
            if key in self.config_fields and key not in get_connector(self.kind).secret_fields
        }
        return {"name": self.channel.name, **public}

    def config(self) -> dict[str, Any]:
        """The connector settings as typed; an empty secret is left out (kept)."""
        config = {}
        for name in self.config_fields:
            value = self.cleaned_data.get(name)
            if name in self.secret_fields and not value:
                continue
            config[name] = "" if value is None else value
        return config

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        merged = {**self.stored_config, **self.config()}
        try:
            get_connector(self.kind).validate_config(
                merged, allow_plaintext=settings.PORTAL_ALLOW_PLAINTEXT_IMAP
            )
        except ConfigError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned

    def generated_secrets(self, channel: Channel) -> dict[str, str]:
        """The secrets the connector made up because they were left empty on create, by
        label: the one time they are shown."""
        if self.channel is not None:
            return {}
        stored = channel.read_config()
        return {
            str(self.fields[name].label): stored[name]
            for name in sorted(self.secret_fields)
            if not self.cleaned_data.get(name) and stored.get(name)
        }

    def service_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``channel_create`` / ``channel_update``."""
        arguments: dict[str, Any] = {"name": self.cleaned_data["name"], "config": self.config()}
        if self.polls:
            arguments["poll_interval"] = self.cleaned_data["poll_interval"]
        return arguments


SECURITY_CHOICES = [
    ("tls", "TLS (port 993)"),
    ("starttls", "STARTTLS (port 143)"),
    ("none", "None (this machine only)"),
]


AUTH_CHOICES = [("password", "Password"), ("oauth2", "OAuth 2.0 (Microsoft 365, Gmail)")]
PROVIDER_CHOICES = [
    ("", "(only with OAuth 2.0)"),
    ("microsoft", "Microsoft 365"),
    ("google", "Google (Gmail)"),
    ("custom", "Another provider (give its token URL)"),
]
SASL_CHOICES = [("xoauth2", "XOAUTH2"), ("oauthbearer", "OAUTHBEARER (RFC 7628)")]


def _write_only(label: str, max_length: int, help_text: str = "") -> forms.CharField:
    # Required or not is the connector's call (it depends on the sign-in chosen); the
    # connector's error then lands on this field.
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=False,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class ImapChannelForm(ChannelForm):
    kind = "imap"
    config_fields = (
        "host",
        "port",
        "security",
        "username",
        "auth",
        "password",
        "provider",
        "token_url",
        "client_id",
        "client_secret",
        "refresh_token",
        "scope",
        "sasl",
        "folder",
        "move_to",
        "address",
    )

    host = forms.CharField(
        label="Server",
        max_length=253,
        widget=forms.TextInput(attrs={"placeholder": "imap.example.com"}),
    )
    security = forms.ChoiceField(label="Encryption", choices=SECURITY_CHOICES, initial="tls")
    port = forms.IntegerField(
        label="Port",
        required=False,
        min_value=1,
        max_value=65535,
        help_text=(
            f"Empty: {DEFAULT_PORTS['tls']} with TLS, {DEFAULT_PORTS['starttls']} with "
            "STARTTLS or none."
        ),
    )
    username = forms.CharField(label="Username", max_length=320)
    # Not required: a form posted without it (from before OAuth existed) signs in by password.
    auth = forms.ChoiceField(
        label="Sign-in", choices=AUTH_CHOICES, initial="password", required=False
    )
    password = _write_only("Password", 1000, "With sign-in by password.")
    provider = forms.ChoiceField(label="OAuth provider", choices=PROVIDER_CHOICES, required=False)
    token_url = forms.CharField(
        label="Token URL",
        max_length=2000,
        required=False,
        help_text=(
            f"Empty: Microsoft's {PROVIDERS['microsoft'][0]} (an app of one tenant: its own "
            f"tenant id instead of common) or Google's {PROVIDERS['google'][0]}."
        ),
    )
    client_id = forms.CharField(label="OAuth client id", max_length=500, required=False)
    client_secret = _write_only(
        "OAuth client secret", 2000, "Empty for an app registered without a secret."
    )
    refresh_token = _write_only(
        "OAuth refresh token",
        10000,
        "Made once by authorising the app for the mailbox; see the channels guide.",
    )
    scope = forms.CharField(
        label="OAuth scope",
        max_length=2000,
        required=False,
        help_text=(
            f"Empty: {PROVIDERS['microsoft'][1]} (Microsoft) or {PROVIDERS['google'][1]} (Google)."
        ),
    )
    sasl = forms.ChoiceField(
        label="OAuth login mechanism", choices=SASL_CHOICES, initial="xoauth2", required=False
    )
    folder = forms.CharField(
        label="Folder",
        max_length=500,
        required=False,
        initial=DEFAULT_FOLDER,
        help_text=f"The folder to read new mail from. Empty: {DEFAULT_FOLDER}.",
    )
    move_to = forms.CharField(
        label="Move stored mail to",
        max_length=500,
        required=False,
        help_text=(
            "Optional: a folder to move each mail to once it is stored. Mail is never deleted."
        ),
    )
    address = forms.CharField(
        label="Public address",
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"placeholder": "support@example.com"}),
        help_text=(
            "The address customers write to, where replies come from. Empty: the username, "
            "when it is an address."
        ),
    )

    def config(self) -> dict[str, Any]:
        config = super().config()
        # The connector fills in the port for the encryption chosen.
        if config.get("port") == "":
            config["port"] = None
        return config


class WebhookChannelForm(ChannelForm):
    kind = "webhook"
    config_fields = ("address", "secret")
    # Mail is posted to the portal: there is nothing to poll.
    polls = False

    address = forms.CharField(
        label="Public address",
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"placeholder": "support@example.com"}),
        help_text="The address customers write to, where replies come from.",
    )
    secret = forms.CharField(
        label="Signing secret",
        max_length=512,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Empty: the portal makes a random secret and shows it to you once.",
    )


class WidgetChannelForm(ChannelForm):
    kind = "widget"
    config_fields = ("allowed_origins", "address")
    # Customers post to the portal: there is nothing to poll.
    polls = False

    allowed_origins = forms.CharField(
        label="Allowed origins",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://www.example.com"}),
        help_text=(
            "The sites that may embed the feedback script, one a line: scheme and host, such "
            "as https://www.example.com. The no-JS form works without any."
        ),
    )
    address = forms.CharField(
        label="Reply address",
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"placeholder": "support@example.com"}),
        help_text="The address answers to widget feedback come from.",
    )

    def _initial(self) -> dict[str, Any]:
        initial = super()._initial()
        if isinstance(initial.get("allowed_origins"), list):
            initial["allowed_origins"] = "\n".join(initial["allowed_origins"])
        return initial


class ZendeskChannelForm(ChannelForm):
    kind = "zendesk"
    config_fields = ("subdomain", "email", "api_token", "start_time")

    # Not required here: a channel set up through the API may name a base_url instead, and
    # the connector says which one is missing.
    subdomain = forms.CharField(
        label="Zendesk subdomain",
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "acme"}),
        help_text="The name before .zendesk.com: acme for https://acme.zendesk.com.",
    )
    email = forms.CharField(
        label="Admin e-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"placeholder": "admin@example.com"}),
        help_text="The Zendesk admin the API token belongs to (the ticket export is for admins).",
    )
    api_token = forms.CharField(
        label="API token",
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Admin Center > Apps and integrations > Zendesk API.",
    )
    start_time = forms.CharField(
        label="Read tickets changed since",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "2026-11-01"}),
        help_text="A date. Empty: 30 days before the first poll.",
    )


class DiscourseChannelForm(ChannelForm):
    kind = "discourse"
    config_fields = ("base_url", "api_key", "api_username", "categories")

    base_url = forms.CharField(
        label="Forum address",
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://forum.example.com"}),
    )
    api_key = forms.CharField(
        label="API key",
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Admin > API > New API key, read-only, for the user below.",
    )
    api_username = forms.CharField(
        label="API username",
        max_length=60,
        help_text="The forum user the key acts as; its own posts (your answers) are skipped.",
    )
    categories = forms.CharField(
        label="Categories",
        max_length=2000,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "support, bugs"}),
        help_text="Category slugs or ids, separated by commas. Empty: every category.",
    )

    def _initial(self) -> dict[str, Any]:
        initial = super()._initial()
        if isinstance(initial.get("categories"), list):
            initial["categories"] = ", ".join(initial["categories"])
        return initial


class MastodonChannelForm(ChannelForm):
    kind = "mastodon"
    config_fields = ("base_url", "access_token", "source", "hashtag")

    base_url = forms.CharField(
        label="Instance address",
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://mastodon.social"}),
    )
    access_token = forms.CharField(
        label="Access token",
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Preferences > Development > New application, with the read scope.",
    )
    source = forms.ChoiceField(
        label="Read",
        choices=[("mentions", "Mentions of the account"), ("hashtag", "A hashtag")],
        initial="mentions",
    )
    hashtag = forms.CharField(
        label="Hashtag",
        max_length=100,
        required=False,
        help_text="Without the #; only when reading a hashtag.",
    )


class FeedChannelForm(ChannelForm):
    kind = "feed"
    config_fields = ("url", "username", "password")

    url = forms.CharField(
        label="Feed address",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/reviews.rss"}),
        help_text="The address of the RSS or Atom feed itself, not of the page that shows it.",
    )
    username = forms.CharField(
        label="Username",
        max_length=320,
        required=False,
        help_text="Only for a feed behind a login (HTTP basic authentication).",
    )
    password = forms.CharField(
        label="Password",
        max_length=1000,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Empty the username to stop sending credentials.",
    )


# One form per channel kind the pages can set up. A kind the registry knows but that has no
# form here is listed on the pages but cannot be created or edited through them.
CHANNEL_FORMS: dict[str, type[ChannelForm]] = {
    ImapChannelForm.kind: ImapChannelForm,
    WebhookChannelForm.kind: WebhookChannelForm,
    WidgetChannelForm.kind: WidgetChannelForm,
    ZendeskChannelForm.kind: ZendeskChannelForm,
    DiscourseChannelForm.kind: DiscourseChannelForm,
    MastodonChannelForm.kind: MastodonChannelForm,
    FeedChannelForm.kind: FeedChannelForm,
}


def channel_form_class(kind: str) -> type[ChannelForm] | None:
    """The form for ``kind`` when the kind is registered and has a form, else None."""
    try:
        get_connector(kind)
    except ConfigError:
        return None
    return CHANNEL_FORMS.get(kind)


def creatable_kinds() -> list[str]:
    return [kind for kind in CHANNEL_FORMS if channel_form_class(kind) is not None]


class ChannelKindForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind of channel",
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": KIND_UNKNOWN},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind, kind_label(kind)) for kind in creatable_kinds()]


class ChannelEnabledForm(forms.Form):
    enabled = forms.TypedChoiceField(
        choices=[("true", "Enable"), ("false", "Disable")],
        coerce=lambda value: value == "true",
    )


class QuarantineFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[*QuarantineStatus.choices, (STATUS_ALL, "All")],
    )

    def statuses(self) -> Any:
        """The selector's ``status`` argument: open rows unless another status is chosen."""
        if not self.is_valid():
            return QuarantineStatus.OPEN
        chosen = self.cleaned_data.get("status") or QuarantineStatus.OPEN
        return None if chosen == STATUS_ALL else chosen
