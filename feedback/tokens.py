"""Reply tokens: a signed item id in the plus-address of a channel's public address.

A reply we send carries ``Reply-To: support+<token>@example.com``; whatever the customer's
client does to the headers, the answer comes back to that address and the token names its
item. The token is signed (``django.core.signing`` under the secret key, with a salt of its
own), so nobody can thread a mail into an item by guessing ids.

The token is ``<item id>.<signature>``: a dot separates them because the signer's default
colon is not allowed in the local part of an address, and the URL-safe base64 signature is
(letters, digits, ``-`` and ``_``).
"""

from django.core import signing

REPLY_TOKEN_SALT = "feedback.reply-token"
_SEPARATOR = "."


def _signer() -> signing.Signer:
    return signing.Signer(salt=REPLY_TOKEN_SALT, sep=_SEPARATOR, algorithm="sha256")


def reply_token(item_id: int) -> str:
    return _signer().sign(str(int(item_id)))


def item_id_from_token(token: str) -> int | None:
    """The item id a token was signed for; None for anything else (forged, cut, foreign)."""
    try:
        value = _signer().unsign((token or "").strip())
    except signing.BadSignature:
        return None
    return int(value) if value.isascii() and value.isdigit() else None


def reply_address(address: str, item_id: int) -> str:
    """``support+<token>@example.com`` for the channel address ``support@example.com``;
    an address that already has a plus part keeps its base."""
    local, at, domain = (address or "").strip().rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an e-mail address: {address!r}")
    base = local.split("+", 1)[0]
    return f"{base}+{reply_token(item_id)}@{domain}"
