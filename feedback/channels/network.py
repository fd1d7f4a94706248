"""Which network addresses the connectors may reach: the defence against a channel's address
being used to reach the portal's own network (server-side request forgery).

A team admin types a channel's address (a feed, a forum, a Mastodon instance, a Zendesk
subdomain, an IMAP server, an OAuth token endpoint); the portal's workers then connect to it
from inside the operator's network and store what it answers. Without a rule, an address such
as ``https://10.0.0.7/`` or ``http://127.0.0.1:9200/`` would read an internal service into the
inbox, and the channel's errors would map which internal ports are open. The operator sets the
rule with ``PORTAL_CHANNEL_NETWORKS``:

- ``public``: public internet addresses only (the default with debug off);
- ``local``: those and loopback (the default with debug on: ``make run``, the tests' local
  servers);
- ``any``: private networks too, for a forum or mail server on the company's own network.

Refused are what requests-hardened refuses (private and link-local ranges such as 10/8,
172.16/12, 192.168/16, 169.254/16 with the cloud metadata service, fc00::/7, CGNAT 100.64/10,
multicast, reserved and unspecified addresses, IPv4 mapped into IPv6), loopback unless the rule
is ``local``. HTTP goes through requests-hardened's session, which resolves a host once, checks
that address and connects to it (a host cannot answer a public address to the check and a
private one to the connection); every redirect is a new request through the same check. An
address typed as an IP (or ``localhost``) is refused when the channel is saved.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from django.conf import settings
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES

PUBLIC, LOCAL, ANY = "public", "local", "any"

ADDRESS_REFUSED = (
    "{host} is a {kind} address, which this portal does not connect to "
    "(PORTAL_CHANNEL_NETWORKS={policy}); use the service's public address, or ask the "
    "operator to allow {allow}"
)
RESOLVED_REFUSED = (
    "{host} resolves to {address}, a {kind} address, which this portal does not connect to "
    "(PORTAL_CHANNEL_NETWORKS={policy}); use the service's public address, or ask the "
    "operator to allow {allow}"
)
_ALLOW = {"loopback": "loopback (local)", "private network": "private networks (any)"}


def policy() -> str:
    return settings.PORTAL_CHANNEL_NETWORKS


def refusal(address: Any) -> str | None:
    """What kind of address the policy refuses ``address`` as ("loopback", "private
    network"), or None when the connectors may reach it."""
    rule = policy()
    if rule == ANY:
        return None
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if rule == LOCAL else "loopback"
    if ip.is_private or ip.is_multicast or any(ip in net for net in EXTRA_BLOCKED_NET_RANGES):
        return "private network"
    return None


def literal_refusal(host: str) -> str | None:
    """For a host as typed: a refused IP literal or ``localhost`` (checked when a channel is
    saved, so that the admin hears it at once); None for a name, checked when connecting."""
    bare = host.strip("[]")
    if bare.casefold().rstrip(".") == "localhost":
        bare = "127.0.0.1"
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        return None
    kind = refusal(bare)
    return None if kind is None else refused_message(host, kind)


def refused_message(host: str, kind: str, *, address: str | None = None) -> str:
    template = ADDRESS_REFUSED if address is None else RESOLVED_REFUSED
    return template.format(
        host=host, address=address, kind=kind, policy=policy(), allow=_ALLOW[kind]
    )


def resolved_refusal(host: str, port: int) -> str | None:
    """Every address ``host`` resolves to checked (for connections made outside requests:
    IMAP); the message for the first refused one, else None. A name that does not resolve
    is left to the connection, which says so."""
    if policy() == ANY:
        return None
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for *_, sockaddr in found:
        kind = refusal(sockaddr[0].split("%")[0])
        if kind is not None:
            return refused_message(host, kind, address=sockaddr[0])
    return None


def session() -> HTTPSession:
    """A requests session that connects only where the policy allows."""
    rule = policy()
    return HTTPSession(
        Config(
            ip_filter_enable=rule != ANY,
            ip_filter_allow_loopback_ips=rule == LOCAL,
            never_redirect=False,
            default_timeout=None,
        )
    )
