"""The system actor: who acts when the portal writes by itself.

Ingestion, webhooks, the widget and scheduled tasks call the same services as people do, and
every service takes an ``actor``. They pass :data:`SYSTEM` rather than borrowing a person's
account, so that the access rules can say what the portal itself may do and the audit log can
say that nobody in particular did it.

``SYSTEM`` is not a row in the user table (``pk`` is None): nothing can log in as it, and a
foreign key to a user never points at it. Services that store who acted store ``None`` for it
(see :func:`person_or_none`).
"""

from typing import Any


class SystemActor:
    """Quacks like an authenticated, active user just enough for the access rules."""

    __slots__ = ()

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    # Not a superuser: the portal may write team and directory data on its own, but defining
    # the North Star, creating teams and value streams stay decisions a person makes.
    is_superuser = False
    is_system = True
    pk = None
    id = None
    username = "system"

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return "<SystemActor>"


SYSTEM = SystemActor()


def is_system(actor: Any) -> bool:
    return getattr(actor, "is_system", False) is True


def person_name(actor: Any) -> str:
    """How the portal names a person to other people: their full name, else their login (the
    system by its name)."""
    full_name = getattr(actor, "get_full_name", lambda: "")()
    return full_name or actor.get_username()


def person_or_none(actor: Any) -> Any:
    """The actor for a foreign key to a user: the person, or None for the system."""
    return None if is_system(actor) else actor
