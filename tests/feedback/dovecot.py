"""A real dovecot (Debian's ``dovecot-imapd``) for the IMAP tests, one per test worker.

``DovecotServer.start(root)`` writes a self-contained config under ``root`` (its own
``base_dir``, ``state_dir``, log, passwd-file and a self-signed certificate made with
``openssl``), starts dovecot on two free loopback ports and waits for its greeting:

- ``imap_port``: plaintext IMAP that also offers STARTTLS;
- ``imaps_port``: IMAP over TLS.

``start(root, oauth2_introspection_url=...)`` starts a separate instance that also takes SASL
XOAUTH2 and OAUTHBEARER through dovecot's oauth2 passdb, which asks the given introspection
endpoint (``introspection_mode = post``: ``token=<access token>`` as a form) whether a token
is active and whose it is; ``TokenServer`` below is that endpoint and the token endpoint the
connector refreshes against. Password logins (the helpers' APPEND) still work there.

Each test takes a fresh account (``add_user()``) from a pool written into the passwd-file at
start: an empty mailbox for every test without restarting anything.

What Debian 12's dovecot 2.3 needs to run like this, learnt the hard way:

- ``dovecot -c FILE`` daemonises but keeps the caller's stdout open, so its output goes to a
  file, never a pipe; it is stopped by the PID in ``base_dir/master.pid``.
- ``disable_plaintext_auth = no`` for LOGIN on the plaintext port; ``ssl = yes`` with a
  certificate for STARTTLS and imaps.
- Login processes must not run as root and mail processes refuse UID 0, so as root the login
  user is ``dovenull`` and mail belongs to the ``dovecot`` user, in a directory of its own
  outside pytest's root-only temporary tree (which that user could not enter).
- A failed login is answered only after ``auth_failure_delay`` (2 s), and every failure from
  an IP delays the next logins from it by 4-15 s (the "auth penalty"): with the small
  timeouts of the tests, a wrong-password test would time out and slow down every test after
  it. ``auth_failure_delay = 0`` and ``mode = 0`` on anvil's ``anvil-auth-penalty`` listener
  turn both off (a failure is still answered on the next 0.5 s tick of dovecot's queue).
"""

from __future__ import annotations

import grp
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from imapclient import IMAPClient

from tests.feedback.fakeweb import FakeWeb, Reply, Request

SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
DOVECOT = shutil.which("dovecot", path=SEARCH_PATH)
OPENSSL = shutil.which("openssl", path=SEARCH_PATH)
DOVECOT_MISSING = (
    "dovecot is not installed (Debian: apt-get install dovecot-imapd; openssl is needed too)"
)
HOST = "127.0.0.1"
PASSWORD = "correct horse battery staple"
# Accounts written once at start: dovecot re-reads a changed passwd-file at most once a
# second, too late for a test that adds a user and logs in at once. A mailbox is created on
# first login, so each account starts empty.
ACCOUNTS = 1000
# Unix socket paths in base_dir must stay below the kernel's 108 bytes.
MAX_BASE_DIR = 70
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

CONFIG = """\
# Written by tests/feedback/dovecot.py for one test worker; nothing here is system-wide.
instance_name = portal-test-{instance}
base_dir = {base_dir}
state_dir = {state_dir}
log_path = {log_path}
protocols = imap
listen = {host}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
mail_location = maildir:~/Maildir
mail_fsync = never
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth2_mechanisms}
auth_failure_delay = 0
ssl = yes
ssl_cert = <{certificate}
ssl_key = <{key}
{oauth2_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}{passwd_mechanisms}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


# The oauth2 variant: tokens of the two SASL mechanisms go to the introspection endpoint only
# (an access token is never checked as a password); the token's user must be the login's.
OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {args}
}}
"""
OAUTH2_ARGS = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""


def dovecot_available() -> bool:
    return DOVECOT is not None and OPENSSL is not None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _user_names() -> tuple[str, str, str, pwd.struct_passwd]:
    """(internal user, its group, login user, mail user) for whoever runs the tests."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.getuid())
        return me.pw_name, grp.getgrgid(os.getgid()).gr_name, me.pw_name, me
    mail_user = _existing_user("dovecot", "nobody")
    login_user = _existing_user("dovenull", "nobody")
    return "root", "root", login_user.pw_name, mail_user


def _existing_user(*names: str) -> pwd.struct_passwd:
    for name in names:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError(f"none of the users {', '.join(names)} exists")


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # A daemon's parent may be slow to reap it; a zombie has stopped all the same.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (EC keys are quick to make)."""
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            OPENSSL or "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            f"subjectAltName=DNS:localhost,IP:{HOST}",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return certificate, key


@dataclass
class DovecotServer:
    root: Path
    base_dir: Path
    config_path: Path
    log_path: Path
    passwd_path: Path
    mail_root: Path
    mail_user: pwd.struct_passwd
    imap_port: int
    imaps_port: int
    certificate_pem: str
    host: str = HOST
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def start(
        cls, root: Path, *, instance: str = "main", oauth2_introspection_url: str | None = None
    ) -> DovecotServer:
        """Start dovecot under ``root``; raise RuntimeError with its log if it will not.
        With ``oauth2_introspection_url`` it also takes XOAUTH2 and OAUTHBEARER logins whose
        tokens that endpoint says are active."""
        root.mkdir(parents=True, exist_ok=True)
        base_dir = root / "base"
        if len(str(base_dir)) > MAX_BASE_DIR:
            base_dir = Path(tempfile.mkdtemp(prefix="dovecot-base-"))
        base_dir.mkdir(exist_ok=True)
        (root / "state").mkdir(exist_ok=True)
        certificate, key = make_certificate(root)
        internal_user, internal_group, login_user, mail_user = _user_names()
        mail_root = Path(tempfile.mkdtemp(prefix="portal-dovecot-mail-"))
        if os.geteuid() == 0:
            os.chown(mail_root, mail_user.pw_uid, mail_user.pw_gid)
        oauth2 = {"oauth2_mechanisms": "", "oauth2_passdb": "", "passwd_mechanisms": ""}
        if oauth2_introspection_url is not None:
            args_path = root / "dovecot-oauth2.conf.ext"
            args_path.write_text(OAUTH2_ARGS.format(url=oauth2_introspection_url))
            oauth2 = {
                "oauth2_mechanisms": " xoauth2 oauthbearer",
                "oauth2_passdb": OAUTH2_PASSDB.format(args=args_path),
                "passwd_mechanisms": "\n  mechanisms = plain login",
            }
        passwd_path = root / "passwd"
        passwd_path.write_text(
            "".join(
                f"user{number}:{{PLAIN}}{PASSWORD}:{mail_user.pw_uid}:{mail_user.pw_gid}"
                f"::{mail_root / f'user{number}'}::\n"
                for number in range(1, ACCOUNTS + 1)
            )
        )
        last_error = ""
        for _attempt in range(3):
            server = cls(
                root=root,
                base_dir=base_dir,
                config_path=root / "dovecot.conf",
                log_path=root / "dovecot.log",
                passwd_path=passwd_path,
                mail_root=mail_root,
                mail_user=mail_user,
                imap_port=_free_port(),
                imaps_port=_free_port(),
                certificate_pem=certificate.read_text(),
            )
            server.config_path.write_text(
                CONFIG.format(
                    instance=instance,
                    base_dir=base_dir,
                    state_dir=root / "state",
                    log_path=server.log_path,
                    host=HOST,
                    internal_user=internal_user,
                    internal_group=internal_group,
                    login_user=login_user,
                    mail_uid=mail_user.pw_uid,
                    mail_gid=mail_user.pw_gid,
                    certificate=certificate,
                    key=key,
                    passwd=passwd_path,
                    imap_port=server.imap_port,
                    imaps_port=server.imaps_port,
                    **oauth2,
                )
            )
            error = server._launch()
            if error is None:
                return server
            last_error = error
            # A port taken between probing and binding: try again with new ones.
            if "Address already in use" not in error:
                break
        shutil.rmtree(mail_root, ignore_errors=True)
        raise RuntimeError(f"dovecot did not start:\n{last_error}")

    def _launch(self) -> str | None:
        """Run the daemon and wait for its greeting; the error text if it failed."""
        output_path = self.root / "dovecot.out"
        # The daemon keeps the caller's stdout open: a file, so that nothing waits on a pipe.
        with output_path.open("wb") as output:
            completed = subprocess.run(
                [DOVECOT or "dovecot", "-c", str(self.config_path)],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=START_TIMEOUT,
                check=False,
            )
        if completed.returncode != 0:
            return self._diagnostics(output_path)
        try:
            # The master binds its listeners before it detaches, so the port is open now;
            # the greeting comes once a login process is up.
            with socket.create_connection((HOST, self.imap_port), timeout=START_TIMEOUT) as s:
                greeting = s.recv(512)
        except OSError as exc:
            self.stop()
            return f"{exc}\n{self._diagnostics(output_path)}"
        if not greeting.startswith(b"* OK"):
            self.stop()
            return f"unexpected greeting {greeting!r}\n{self._diagnostics(output_path)}"
        return None

    def _diagnostics(self, output_path: Path) -> str:
        texts = []
        for path in (output_path, self.log_path):
            if path.exists():
                texts.append(path.read_text(errors="replace"))
        return "\n".join(texts)

    @property
    def master_pid(self) -> int | None:
        try:
            return int((self.base_dir / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """Stop the master started from this config (by its PID) and remove the mail."""
        pid = self.master_pid
        if pid is not None:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            while not _process_gone(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if not _process_gone(pid):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.mail_root, ignore_errors=True)

    # --- accounts ----------------------------------------------------------------------

    def add_user(self) -> ImapAccount:
        """The next unused account: an empty mailbox (INBOX only) that no other test saw."""
        number = next(self._counter)
        if number > ACCOUNTS:
            raise RuntimeError(f"all {ACCOUNTS} test accounts are used; raise ACCOUNTS")
        return ImapAccount(server=self, username=f"user{number}", password=PASSWORD)


@dataclass
class ImapAccount:
    server: DovecotServer
    username: str
    password: str

    @property
    def address(self) -> str:
        return f"{self.username}@example.test"

    def config(self, security: str = "none", **overrides: object) -> dict[str, object]:
        """A connector config for this account; TLS modes trust the test certificate."""
        port = self.server.imaps_port if security == "tls" else self.server.imap_port
        config: dict[str, object] = {
            "host": self.server.host,
            "port": port,
            "username": self.username,
            "password": self.password,
            "security": security,
            "address": self.address,
            "timeout": 2,
        }
        if security != "none":
            config["ca_certificate"] = self.server.certificate_pem
        config.update(overrides)
        return config

    def client(self, *, timeout: float = 10) -> IMAPClient:
        """A logged-in plaintext client; use it as a context manager (it logs out)."""
        server = self.server
        client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=timeout)
        client.login(self.username, self.password)
        return client

    def append(
        self,
        folder: str,
        raw: bytes,
        *,
        flags: tuple[str, ...] = (),
        msg_time: datetime | None = None,
    ) -> int:
        """APPEND one message (creating the folder if needed); its UID."""
        return self.append_many(folder, [raw], flags=flags, msg_time=msg_time)[0]

    def append_many(
        self,
        folder: str,
        raws: list[bytes],
        *,
        flags: tuple[str, ...] = (),
        msg_time: datetime | None = None,
    ) -> list[int]:
        """APPEND several messages over one connection; their UIDs in order."""
        uids = []
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in raws:
                answer = client.append(folder, raw, flags=flags, msg_time=msg_time)
                match = re.search(rb"\[APPENDUID \d+ (\d+)\]", answer)
                if match is None:
                    raise RuntimeError(f"APPEND answered without APPENDUID: {answer!r}")
                uids.append(int(match.group(1)))
        return uids

    def create_folder(self, folder: str) -> None:
        with self.client() as client:
            client.create_folder(folder)

    def delete_folder(self, folder: str) -> None:
        with self.client() as client:
            client.delete_folder(folder)

    def uids(self, folder: str) -> list[int]:
        """The UIDs in ``folder`` (examined read-only, so nothing changes)."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            return sorted(client.search(["ALL"]))

    def uidvalidity(self, folder: str) -> int:
        with self.client() as client:
            return int(client.select_folder(folder, readonly=True)[b"UIDVALIDITY"])

    def flags(self, folder: str) -> dict[int, tuple[bytes, ...]]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            return {uid: data[b"FLAGS"] for uid, data in client.fetch(uids, ["FLAGS"]).items()}


# --- OAuth 2.0 ----------------------------------------------------------------------------


class TokenServer:
    """A provider's token endpoint (``POST /token``, RFC 6749 6: refresh_token grant) and
    the introspection endpoint dovecot's oauth2 passdb asks (``POST /introspect``, RFC 7662),
    on a ``FakeWeb``. Refresh tokens belong to a user; access tokens are random and active
    until revoked. ``rotate`` makes every refresh answer with a new refresh token and retire
    the old one, as strictly as a provider can."""

    CLIENT_ID = "portal-test-client"
    CLIENT_SECRET = "client secret of the portal"

    def __init__(self, web: FakeWeb) -> None:
        self.web = web
        self.refresh_tokens: dict[str, str] = {}
        self.access_tokens: dict[str, str] = {}
        self.expires_in = 3600
        self.rotate = False
        self._lock = threading.Lock()
        web.route("POST", "/token", self._token)
        web.route("POST", "/introspect", self._introspect)

    @property
    def token_url(self) -> str:
        return f"{self.web.url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.web.url}/introspect"

    def reset(self) -> None:
        """Forget what earlier tests asked and armed (their tokens stay valid: all random)."""
        with self._lock:
            self.expires_in = 3600
            self.rotate = False
            self.web.requests.clear()
            self.web.queued.clear()

    def issue_refresh_token(self, username: str) -> str:
        token = f"refresh-{secrets.token_urlsafe(16)}"
        with self._lock:
            self.refresh_tokens[token] = username
        return token

    def revoke(self, refresh_token: str) -> None:
        """Revoke a refresh token and every access token of its user, as a password reset or
        an admin's "revoke sessions" does."""
        with self._lock:
            username = self.refresh_tokens.pop(refresh_token, None)
            for access, owner in list(self.access_tokens.items()):
                if owner == username:
                    del self.access_tokens[access]

    def token_requests(self) -> list[Request]:
        return self.web.requests_to("/token")

    def _token(self, request: Request) -> Reply:
        form = request.form()
        if form.get("client_id") != self.CLIENT_ID or form.get("client_secret") != (
            self.CLIENT_SECRET
        ):
            return Reply.json({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "refresh_token":
            return Reply.json({"error": "unsupported_grant_type"}, status=400)
        with self._lock:
            username = self.refresh_tokens.get(form.get("refresh_token", ""))
            if username is None:
                return Reply.json(
                    {
                        "error": "invalid_grant",
                        "error_description": "The refresh token was revoked or has expired.",
                    },
                    status=400,
                )
            access = f"access-{secrets.token_urlsafe(16)}"
            self.access_tokens[access] = username
            answer = {
                "token_type": "Bearer",
                "access_token": access,
                "expires_in": self.expires_in,
                "scope": form.get("scope", ""),
            }
            if self.rotate:
                del self.refresh_tokens[form["refresh_token"]]
                rotated = f"refresh-{secrets.token_urlsafe(16)}"
                self.refresh_tokens[rotated] = username
                answer["refresh_token"] = rotated
        return Reply.json(answer)

    def _introspect(self, request: Request) -> Reply:
        with self._lock:
            username = self.access_tokens.get(request.form().get("token", ""))
        if username is None:
            return Reply.json({"active": False})
        return Reply.json({"active": True, "username": username, "token_type": "Bearer"})


def oauth_config(
    account: ImapAccount, tokens: TokenServer, refresh_token: str, **overrides: object
) -> dict[str, object]:
    """A connector config logging ``account`` in with OAuth against ``tokens``."""
    config = account.config(
        auth="oauth2",
        provider="custom",
        token_url=tokens.token_url,
        client_id=TokenServer.CLIENT_ID,
        client_secret=TokenServer.CLIENT_SECRET,
        refresh_token=refresh_token,
        scope="imap",
        # Each login makes dovecot ask the token server over HTTP: slower than a password
        # under a loaded machine, and a timeout here would fail a test for the wrong reason.
        timeout=10,
    )
    del config["password"]
    config.update(overrides)
    return config
