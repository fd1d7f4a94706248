"""The IMAP connector: one folder of a mailbox, read after a cursor, never deleted from.

Reads with ``UID FETCH BODY.PEEK[]`` (which never sets ``\\Seen``) in batches bounded by count
and bytes. The only write is ``after_store`` moving stored mail to ``move_to``. The network
call sits in ``open_session`` (connect, secure, log in); what the server answers is turned
into items and decisions by the pure functions in ``protocol``.

A mailbox logs in with LOGIN and its password, or (``auth`` oauth2) with SASL XOAUTH2 or
OAUTHBEARER (RFC 7628) and an access token that ``oauth`` refreshes before it expires. A
provider's rotated refresh token leaves ``fetch`` as ``FetchResult.config_updates``, which
the poll stores encrypted with the batch, and leaves a ``fetch`` or ``after_store`` that fails
after the refresh as the ``ConnectorError``'s ``config_updates``, which the poll stores with
its failure: a strictly rotating provider (OAuth 2.1) has spent the old token by then.

Plaintext (``security = none``) is a policy decision taken when a config is saved:
``validate_config(config, allow_plaintext=...)`` refuses it for hosts other than loopback.
``check``, ``fetch`` and ``after_store`` take a config that passed that gate and only parse it.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import Any

from imapclient import DELETED, IMAPClient
from imapclient.exceptions import LoginError

from feedback.channels import network
from feedback.channels.base import (
    CheckResult,
    ConfigError,
    Connector,
    ConnectorError,
    FetchedItem,
    FetchResult,
)
from feedback.channels.imap.config import ImapSettings, config_dict, parse_config
from feedback.channels.imap.oauth import AccessToken, TokenCache, access_token, cache_key
from feedback.channels.imap.protocol import (
    cursor_last_uid,
    items_from_fetch,
    make_cursor,
    plan_batch,
    uids_after,
    uids_to_move,
)

# Connection and server errors, in words a person can act on.
AUTHENTICATION_FAILED = "authentication failed"
LOGIN_DISABLED = "the server refuses to log in without encryption; use tls or starttls"
SERVER_UNAVAILABLE = "the server is temporarily unavailable ({reason})"
FOLDER_MISSING = "folder {folder} does not exist"
CONNECT_FAILED = "could not connect to {host}:{port} ({reason})"
TIMED_OUT = "timed out after {timeout:g} s"
CERTIFICATE_UNTRUSTED = "the server's certificate is not trusted ({reason})"
STARTTLS_MISSING = "the server does not offer STARTTLS"
TLS_FAILED = "TLS with {host}:{port} failed ({reason})"
TLS_NOT_SPOKEN = (
    "{host}:{port} does not answer in TLS; for a plaintext port such as 143 use security starttls"
)
CONNECTION_LOST = "the connection to {host}:{port} was lost ({reason})"
SERVER_REJECTED = "the server answered with an error ({reason})"
UIDVALIDITY_MISSING = "the server reported no UIDVALIDITY for folder {folder}"
CHECK_OK = "connected to {host}:{port}; folder {folder} holds {messages}"
SASL_MISSING = (
    "the server does not offer SASL {mechanism}; set sasl to {other} or check the server name"
)
TOKEN_NOT_ACCEPTED = (
    "the server refused a fresh access token for {username} ({reason}): check that the "
    "token's scope covers IMAP ({scope}), that username is the mailbox's own address, and "
    "that the account may use IMAP (Microsoft 365: IMAP enabled for the mailbox and the app "
    "granted IMAP.AccessAsUser.All; Gmail: IMAP access turned on)"
)

FETCH_ITEMS = ["BODY.PEEK[]", "INTERNALDATE", "RFC822.SIZE", "FLAGS"]


def ssl_context(settings: ImapSettings) -> ssl.SSLContext:
    """Verification on by default; a private CA is trusted from its PEM text, never a file."""
    if not settings.verify_certificate:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if settings.ca_certificate:
        return ssl.create_default_context(cadata=settings.ca_certificate)
    return ssl.create_default_context()


_BYTES_LIST = re.compile(r"\[b['\"](.*?)['\"]\]")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "host not found"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # imaplib reports a BAD answer as "FETCH command error: BAD [b'text']".
    text = _BYTES_LIST.sub(r"\1", str(text))
    return text or type(exc).__name__


def _login_error(exc: LoginError, settings: ImapSettings) -> ConnectorError:
    # imapclient turns every failure during LOGIN into LoginError, a dropped connection too.
    if isinstance(exc.__context__, imaplib.IMAP4.abort):
        reason = _reason(exc.__context__)
        return ConnectorError(
            CONNECTION_LOST.format(host=settings.host, port=settings.port, reason=reason)
        )
    if "[UNAVAILABLE]" in str(exc):
        return ConnectorError(SERVER_UNAVAILABLE.format(reason=_reason(exc)))
    return ConnectorError(AUTHENTICATION_FAILED, retryable=False)


def open_session(settings: ImapSettings, tokens: TokenCache | None = None) -> IMAPClient:
    """The one network call: connect, secure the connection, log in. An OAuth mailbox takes
    its access token from ``tokens`` (refreshed there when needed) before connecting."""
    token = None
    if settings.oauth is not None:
        tokens = tokens if tokens is not None else TokenCache()
        token = access_token(settings.oauth, tokens, timeout=settings.timeout)
    use_tls = settings.security == "tls"
    context = ssl_context(settings) if settings.security != "none" else None
    # Resolved here and again by the connection: a name that changes its answer in between
    # still meets the server's certificate check (tls, starttls), which an internal server
    # does not pass for someone else's name.
    if refused := network.resolved_refusal(settings.host, settings.port):
        raise ConnectorError(refused, retryable=False)
    try:
        client = IMAPClient(
            settings.host,
            port=settings.port,
            ssl=use_tls,
            ssl_context=context,
            timeout=settings.timeout,
        )
    except (ssl.SSLError, TimeoutError, imaplib.IMAP4.error):
        raise
    except OSError as exc:
        raise ConnectorError(
            CONNECT_FAILED.format(host=settings.host, port=settings.port, reason=_reason(exc))
        ) from exc
    try:
        # Aware datetimes from INTERNALDATE instead of naive local times.
        client.normalise_times = False
        if settings.security == "starttls":
            if not client.has_capability("STARTTLS"):
                raise ConnectorError(STARTTLS_MISSING, retryable=False)
            client.starttls(context)
        elif settings.security == "none" and client.has_capability("LOGINDISABLED"):
            raise ConnectorError(LOGIN_DISABLED, retryable=False)
        if token is None:
            try:
                client.login(settings.username, settings.password)
            except LoginError as exc:
                raise _login_error(exc, settings) from exc
        else:
            _oauth_login(client, settings, tokens, token)
    except BaseException:
        _close(client, logout=False)
        raise
    return client


def _authenticate(client: IMAPClient, settings: ImapSettings, token: str) -> None:
    if settings.oauth.sasl == "oauthbearer":
        client.oauthbearer_login(settings.username, token)
    else:
        client.oauth2_login(settings.username, token)


def _oauth_login(
    client: IMAPClient, settings: ImapSettings, tokens: TokenCache, token: AccessToken
) -> None:
    """AUTHENTICATE with the access token. A cached token the server refuses (revoked before
    its time) is replaced by a fresh one once; a fresh one refused is a setup problem."""
    mechanism = settings.oauth.sasl.upper()
    if not client.has_capability(f"AUTH={mechanism}"):
        other = "oauthbearer" if settings.oauth.sasl == "xoauth2" else "xoauth2"
        raise ConnectorError(SASL_MISSING.format(mechanism=mechanism, other=other), retryable=False)
    while True:
        try:
            _authenticate(client, settings, token.value)
            return
        except LoginError as exc:
            error = _login_error(exc, settings)
            if error.retryable:
                raise error from exc
            if not token.fresh:
                token = access_token(settings.oauth, tokens, timeout=settings.timeout, force=True)
                continue
            message = TOKEN_NOT_ACCEPTED.format(
                username=settings.username, reason=_reason(exc), scope=settings.oauth.scope
            )
            raise ConnectorError(message, retryable=False) from exc


def _config_updates(settings: ImapSettings, tokens: TokenCache) -> dict[str, Any] | None:
    """The provider's rotated refresh token, when it differs from the configured one."""
    oauth = settings.oauth
    if oauth is None:
        return None
    token = tokens.get(cache_key(oauth.client_id, oauth.refresh_token))
    if token is None or token.refresh_token == oauth.refresh_token:
        return None
    return {"refresh_token": token.refresh_token}


@contextmanager
def _rotation_kept(settings: ImapSettings, tokens: TokenCache) -> Iterator[None]:
    """A ConnectorError raised after the token endpoint rotated the refresh token carries the
    new one as ``config_updates`` (None when nothing changed). The mail server may fail after
    the refresh (down, a dropped connection, a refused login); the provider has spent the old
    token all the same, so the poll must store the new one although no batch comes."""
    try:
        yield
    except ConnectorError as error:
        error.config_updates = _config_updates(settings, tokens)
        raise


def _close(client: IMAPClient, *, logout: bool) -> None:
    # After a failure only the socket is closed: a LOGOUT to a stalled server would wait for
    # another full timeout, and one to a dropped connection cannot arrive.
    with suppress(imaplib.IMAP4.error, OSError):
        if logout:
            client.logout()
        else:
            client.shutdown()


@contextmanager
def _session(settings: ImapSettings, tokens: TokenCache) -> Iterator[IMAPClient]:
    client = open_session(settings, tokens)
    try:
        yield client
    except BaseException:
        _close(client, logout=False)
        raise
    _close(client, logout=True)


@contextmanager
def _translated(settings: ImapSettings) -> Iterator[None]:
    """Turn library and socket exceptions into ConnectorError with an actionable message."""
    where = {"host": settings.host, "port": settings.port}
    try:
        yield
    except ConnectorError:
        raise
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or _reason(exc)
        raise ConnectorError(CERTIFICATE_UNTRUSTED.format(reason=reason), retryable=False) from exc
    except ssl.SSLError as exc:
        if exc.reason == "WRONG_VERSION_NUMBER":
            raise ConnectorError(TLS_NOT_SPOKEN.format(**where), retryable=False) from exc
        raise ConnectorError(TLS_FAILED.format(reason=exc.reason or _reason(exc), **where)) from exc
    except TimeoutError as exc:
        raise ConnectorError(TIMED_OUT.format(timeout=settings.timeout)) from exc
    except imaplib.IMAP4.abort as exc:
        raise ConnectorError(CONNECTION_LOST.format(reason=_reason(exc), **where)) from exc
    except imaplib.IMAP4.error as exc:
        raise ConnectorError(SERVER_REJECTED.format(reason=_reason(exc))) from exc
    except OSError as exc:
        raise ConnectorError(CONNECTION_LOST.format(reason=_reason(exc), **where)) from exc


def _select(client: IMAPClient, folder: str, *, readonly: bool) -> dict[bytes, Any]:
    try:
        return client.select_folder(folder, readonly=readonly)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        if not client.folder_exists(folder):
            raise ConnectorError(FOLDER_MISSING.format(folder=folder), retryable=False) from exc
        raise


def _uidvalidity(selected: Mapping[bytes, Any], folder: str) -> int:
    value = selected.get(b"UIDVALIDITY")
    if value is None:
        raise ConnectorError(UIDVALIDITY_MISSING.format(folder=folder), retryable=False)
    return int(value)


def _fetch_batch(
    client: IMAPClient,
    settings: ImapSettings,
    cursor: Mapping[str, Any] | None,
    *,
    limit: int,
    max_bytes: int,
) -> FetchResult:
    folder = settings.folder
    # EXAMINE, not SELECT: fetching changes nothing in the mailbox, not even \Recent.
    selected = _select(client, folder, readonly=True)
    uidvalidity = _uidvalidity(selected, folder)
    last_uid = cursor_last_uid(cursor, folder=folder, uidvalidity=uidvalidity)
    uid_next = selected.get(b"UIDNEXT")
    if isinstance(uid_next, int) and uid_next <= last_uid + 1:
        # Nothing arrived since the last fetch; the usual idle poll ends here.
        return FetchResult([], make_cursor(folder, uidvalidity, last_uid), more=False)
    uids = uids_after(client.search(["UID", f"{last_uid + 1}:*"]), last_uid)
    if not uids:
        return FetchResult([], make_cursor(folder, uidvalidity, last_uid), more=False)
    # Sizes first, so that the content fetched in one go stays within max_bytes.
    sized = client.fetch(uids[: max(limit, 1)], ["RFC822.SIZE"])
    sizes = {
        uid: data[b"RFC822.SIZE"]
        for uid, data in sized.items()
        if isinstance(data.get(b"RFC822.SIZE"), int)
    }
    batch = plan_batch(uids, sizes, limit=limit, max_bytes=max_bytes)
    response = client.fetch(batch.uids, FETCH_ITEMS) if batch.uids else {}
    items = items_from_fetch(response, uids=batch.uids, folder=folder, uidvalidity=uidvalidity)
    return FetchResult(items, make_cursor(folder, uidvalidity, batch.last_uid), more=batch.more)


def _move(
    client: IMAPClient, settings: ImapSettings, move_to: str, items: list[FetchedItem]
) -> None:
    selected = _select(client, settings.folder, readonly=False)
    uidvalidity = _uidvalidity(selected, settings.folder)
    wanted = uids_to_move(items, folder=settings.folder, uidvalidity=uidvalidity)
    if not wanted:
        return
    if not client.folder_exists(move_to):
        raise ConnectorError(FOLDER_MISSING.format(folder=move_to), retryable=False)
    # Only mail still in the folder: a repeated after_store (a retried task) finds nothing.
    present = uids_after(client.search(["UID", ",".join(map(str, wanted))]), 0)
    uids = sorted(set(present) & set(wanted))
    if not uids:
        return
    if client.has_capability("MOVE"):
        client.move(uids, move_to)
        return
    client.copy(uids, move_to)
    client.add_flags(uids, [DELETED], silent=True)
    # Without UIDPLUS the only EXPUNGE there is would also remove mail that someone else
    # marked \Deleted; our copies stay marked instead, for the mailbox's own clean-up.
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)


def _count(messages: int) -> str:
    return "1 message" if messages == 1 else f"{messages} messages"


class ImapConnector(Connector):
    kind = "imap"
    secret_fields = frozenset({"password", "client_secret", "refresh_token"})

    def __init__(self, *, tokens: TokenCache | None = None) -> None:
        # OAuth access tokens of this process (one connector instance per process, in the
        # registry); tests pass a cache with their own clock.
        self.tokens = tokens if tokens is not None else TokenCache()

    def validate_config(
        self, config: dict[str, Any], *, allow_plaintext: bool = False
    ) -> dict[str, Any]:
        return config_dict(parse_config(config, allow_plaintext=allow_plaintext))

    def check(self, config: dict[str, Any], *, url: str | None = None) -> CheckResult:
        try:
            settings = parse_config(config, allow_plaintext=True)
        except ConfigError as exc:
            return CheckResult(ok=False, message=exc.message)
        try:
            with _translated(settings), _session(settings, self.tokens) as client:
                selected = _select(client, settings.folder, readonly=True)
                if settings.move_to is not None and not client.folder_exists(settings.move_to):
                    raise ConnectorError(
                        FOLDER_MISSING.format(folder=settings.move_to), retryable=False
                    )
        except ConnectorError as exc:
            return CheckResult(
                ok=False, message=exc.message, config_updates=_config_updates(settings, self.tokens)
            )
        return CheckResult(
            ok=True,
            message=CHECK_OK.format(
                host=settings.host,
                port=settings.port,
                folder=settings.folder,
                messages=_count(selected.get(b"EXISTS", 0)),
            ),
            config_updates=_config_updates(settings, self.tokens),
        )

    def fetch(
        self,
        config: dict[str, Any],
        cursor: dict[str, Any] | None,
        *,
        limit: int = 100,
        max_bytes: int = 20 * 1024 * 1024,
    ) -> FetchResult:
        settings = parse_config(config, allow_plaintext=True)
        with (
            _rotation_kept(settings, self.tokens),
            _translated(settings),
            _session(settings, self.tokens) as client,
        ):
            result = _fetch_batch(client, settings, cursor, limit=limit, max_bytes=max_bytes)
        updates = _config_updates(settings, self.tokens)
        return result if updates is None else replace(result, config_updates=updates)

    def after_store(self, config: dict[str, Any], items: list[FetchedItem]) -> None:
        settings = parse_config(config, allow_plaintext=True)
        if settings.move_to is None or not items:
            return
        with (
            _rotation_kept(settings, self.tokens),
            _translated(settings),
            _session(settings, self.tokens) as client,
        ):
            _move(client, settings, settings.move_to, items)
