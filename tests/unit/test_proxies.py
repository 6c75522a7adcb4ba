from service.proxies import TrustedProxies


def scope(peer: str, *forwarded: str) -> dict:
    return {"client": (peer, 5000), "headers": [(b"x-forwarded-for", f.encode()) for f in forwarded]}


def test_without_trusted_proxies_the_header_is_ignored():
    assert TrustedProxies().client_address(scope("127.0.0.1", "198.51.100.1")) == "127.0.0.1"


def test_the_right_most_address_a_trusted_proxy_did_not_write_is_the_client():
    proxies = TrustedProxies(["127.0.0.1", "10.0.0.0/8"])
    assert proxies.client_address(scope("127.0.0.1", "203.0.113.9")) == "203.0.113.9"
    # The client wrote the left-most entry; the proxies appended the rest.
    assert proxies.client_address(scope("10.1.2.3", "1.1.1.1, 203.0.113.9, 10.0.0.5")) == "203.0.113.9"
    # Several headers count as one list, in order.
    assert proxies.client_address(scope("127.0.0.1", "1.1.1.1", "203.0.113.9")) == "203.0.113.9"


def test_a_malformed_or_missing_header_leaves_the_proxy_address():
    proxies = TrustedProxies(["127.0.0.1"])
    assert proxies.client_address(scope("127.0.0.1")) == "127.0.0.1"
    assert proxies.client_address(scope("127.0.0.1", "1.1.1.1, not-an-address")) == "127.0.0.1"


def test_ipv6_and_ipv4_mapped_peers():
    proxies = TrustedProxies(["::1", "192.0.2.0/24"])
    assert proxies.client_address(scope("::1", "2001:db8::7")) == "2001:db8::7"
    assert proxies.client_address(scope("::ffff:192.0.2.10", "198.51.100.3")) == "198.51.100.3"
    assert proxies.client_address(scope("2001:db8::1", "198.51.100.3")) == "2001:db8::1"
