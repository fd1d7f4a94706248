"""A real SMTP server (aiosmtpd) for the reply tests, on a free loopback port.

``SmtpServer.start()`` listens on 127.0.0.1 at a port the kernel picks (bound as port 0, so
parallel test workers never collide) and keeps every mail it accepts, raw, in ``received``.
``reject_with`` makes it refuse the next mails with that SMTP reply ("554 ..."), the way a
mail server refuses a message, so that a failed send can be proved without a broken network.
Django's SMTP backend reaches it with ``EMAIL_BACKEND = smtp`` and ``EMAIL_HOST``/``PORT``
(``settings_for``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


@dataclass
class _Handler:
    received: list[ReceivedMail] = field(default_factory=list)
    reject_with: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            if self.reject_with:
                return self.reject_with
            self.received.append(
                ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 Message accepted for delivery"


class _FreePortController(Controller):
    """aiosmtpd's controller bound to port 0: the port the kernel chose is read back before
    the controller's own first connection, which needs it."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    def __init__(self) -> None:
        self._handler = _Handler()
        self._controller = _FreePortController(self._handler, hostname=HOST, port=0)

    @classmethod
    def start(cls) -> SmtpServer:
        server = cls()
        server._controller.start()
        return server

    def stop(self) -> None:
        self._controller.stop()

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def received(self) -> list[ReceivedMail]:
        with self._handler.lock:
            return list(self._handler.received)

    def reject(self, reply: str | None) -> None:
        """Refuse every mail from now on with ``reply`` ("554 5.7.1 ..."); None accepts again."""
        with self._handler.lock:
            self._handler.reject_with = reply

    def clear(self) -> None:
        with self._handler.lock:
            self._handler.received.clear()
            self._handler.reject_with = None

    def settings_for(self) -> dict[str, object]:
        """The Django settings that send through this server."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.port,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "EMAIL_TIMEOUT": 5,
        }
