"""Who is asking, by address: the socket peer, unless that peer is a reverse proxy we were told about.

Behind a proxy every request comes from the proxy's address, and the client's is in
X-Forwarded-For, to which each proxy appends the address it saw. Anyone can send that header, so it
is read only when the peer is a trusted proxy (`ONBOARD_TRUSTED_PROXIES`), and from the right: the
right-most address that is not a trusted proxy is the client as the nearest trusted proxy saw it.
Addresses further left were written by the client itself. So no client chooses the address that
the login throttle and the request log know it by.
"""

import ipaddress
from collections.abc import Iterable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.types import Scope

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "?"


def _ip(text: str) -> IP | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class TrustedProxies:
    def __init__(self, networks: Iterable[str] = ()):
        self.networks = tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks)

    def trusts(self, ip: IP) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)

    def client_address(self, scope: Scope) -> str:
        peer_text = (scope.get("client") or (UNKNOWN,))[0] or UNKNOWN
        peer = _ip(peer_text)
        if peer is None or not self.trusts(peer):
            return str(peer) if peer is not None else peer_text
        hops = [
            hop
            for name, value in scope["headers"]
            if name == b"x-forwarded-for"
            for hop in value.decode("latin-1").split(",")
            if hop.strip()
        ]
        for hop in reversed(hops):
            ip = _ip(hop)
            if ip is None:  # a malformed entry: what lies left of it cannot be trusted either
                break
            if not self.trusts(ip):
                return str(ip)
        return str(peer)


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The address a request is known by (throttles, logs): see the module's note."""
    return connection.app.state.proxies.client_address(connection.scope)
