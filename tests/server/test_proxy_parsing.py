"""proxy.py without sockets: the trust matcher, proxy fields and PROXY protocol headers."""

from __future__ import annotations

import ipaddress
import struct
import time

import pytest

from ketch.server.proxy import (
    IPV4,
    IPV4_TRUSTED,
    IPV6,
    IPV6_TRUSTED,
    MAX_HOPS,
    NOT_AN_ADDRESS,
    PROXY_V1_MAX,
    PROXY_V2_MAX,
    PROXY_V2_SIGNATURE,
    ProxyHeader,
    ProxyProtocolError,
    TrustedProxies,
    forwarded_view,
    read_proxy_header,
    replace_host,
)

PEER = ("127.0.0.1", 50000)
SERVER = ("127.0.0.1", 8000)
LOCAL = TrustedProxies("127.0.0.1,::1,10.0.0.0/8")


def view(
    *fields: tuple[str, str],
    trusted: TrustedProxies = LOCAL,
    scheme: str = "http",
    host: str | None = "app.test",
) -> tuple[object, ...] | None:
    """forwarded_view over `fields` (a Host field first unless `host` is None)."""
    headers = [(b"Host", host.encode())] if host is not None else []
    # Values as the core parses them: without surrounding whitespace.
    headers += [
        (name.encode("latin-1"), value.strip(" \t").encode("latin-1")) for name, value in fields
    ]
    return forwarded_view(headers, trusted, PEER, scheme, SERVER)


def client_of(*fields: tuple[str, str], trusted: TrustedProxies = LOCAL) -> object:
    result = view(*fields, trusted=trusted)
    assert result is not None
    return result[0]


# ---------------------------------------------------------------- trust


def test_trust_matches_addresses_and_networks() -> None:
    trusted = TrustedProxies(" 127.0.0.1 , 10.0.0.0/8,2001:db8::/32,, ")
    assert trusted.trusts(("127.0.0.1", 1))
    assert trusted.trusts(("10.200.3.4", 1))
    assert trusted.trusts(("2001:db8:1::5", 1))
    assert not trusted.trusts(("127.0.0.2", 1))
    assert not trusted.trusts(("11.0.0.1", 1))
    assert not trusted.trusts(("::1", 1))
    assert not trusted.trusts(("2001:db9::1", 1))


def test_trust_always_includes_unix_socket_peers() -> None:
    assert TrustedProxies("").trusts(None)
    assert TrustedProxies("10.0.0.1").trusts(None)


def test_empty_spec_trusts_no_address() -> None:
    assert not TrustedProxies("").trusts(("127.0.0.1", 1))
    assert not TrustedProxies(" , ").trusts(("::1", 1))


def test_star_trusts_every_address_but_not_garbage() -> None:
    trusted = TrustedProxies("*")
    assert trusted.trusts(("203.0.113.9", 1))
    assert trusted.trusts(("2001:db8::1", 1))
    assert trusted.classify("not-an-ip") == NOT_AN_ADDRESS


def test_ipv4_mapped_ipv6_peer_matches_ipv4_entries() -> None:
    trusted = TrustedProxies("127.0.0.1,192.168.0.0/16")
    assert trusted.trusts(("::ffff:127.0.0.1", 1))
    assert trusted.trusts(("::ffff:192.168.7.7", 1))
    assert not trusted.trusts(("::ffff:127.0.0.2", 1))


def test_ipv6_peer_with_a_scope_id() -> None:
    trusted = TrustedProxies("fe80::/10")
    assert trusted.trusts(("fe80::1%eth0", 1))


def test_classify_codes() -> None:
    assert LOCAL.classify("127.0.0.1") == IPV4_TRUSTED
    assert LOCAL.classify("8.8.8.8") == IPV4
    assert LOCAL.classify("::1") == IPV6_TRUSTED
    assert LOCAL.classify("2001:db8::1") == IPV6
    for bad in ("", "localhost", "1.2.3", "1.2.3.4.5", "01.2.3.4", "::g", " 1.2.3.4", "1" * 100):
        assert LOCAL.classify(bad) == NOT_AN_ADDRESS, bad


def test_a_network_with_host_bits_set_is_taken_as_its_network() -> None:
    assert TrustedProxies("10.1.2.3/8").trusts(("10.9.9.9", 1))


@pytest.mark.parametrize("spec", ["localhost", "10.0.0.0/33", "1.2.3.4.5", "::1/129", "10.0.0.0/x"])
def test_invalid_trust_entries_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="forwarded_allow_ips"):
        TrustedProxies(spec)


def test_trust_cache_stays_bounded() -> None:
    trusted = TrustedProxies("10.0.0.0/8")
    for n in range(5000):
        trusted.classify(f"10.{n // 256 % 256}.{n % 256}.1")
        trusted.classify(f"garbage{n}")
    assert len(trusted._cache) <= 1024
    trusted.classify("x" * 10_000)  # too long to be an address: never cached
    assert "x" * 10_000 not in trusted._cache


# ---------------------------------------------------------------- which fields are read


def test_no_proxy_fields_means_no_view() -> None:
    assert view(("User-Agent", "x"), ("X-Other", "1"), ("Foo", "bar")) is None
    assert forwarded_view([], LOCAL, PEER, "http", SERVER) is None


def test_field_names_are_case_insensitive() -> None:
    assert client_of(("x-FORWARDED-for", "203.0.113.1")) == ("203.0.113.1", 0)
    assert client_of(("FORWARDED", "for=203.0.113.2")) == ("203.0.113.2", 0)


# ---------------------------------------------------------------- X-Forwarded-For


def test_xff_single_entry() -> None:
    assert view(("X-Forwarded-For", "203.0.113.7")) == (("203.0.113.7", 0), "http", SERVER, None)


def test_xff_walks_from_the_right_past_trusted_proxies() -> None:
    xff = "198.51.100.1, 203.0.113.7, 10.0.0.5, 10.0.0.6"
    assert client_of(("X-Forwarded-For", xff)) == ("203.0.113.7", 0)


def test_xff_spoofed_left_entries_are_ignored() -> None:
    # The client sent "X-Forwarded-For: 127.0.0.1"; the proxy appended the address it saw.
    assert client_of(("X-Forwarded-For", "127.0.0.1, 203.0.113.7")) == ("203.0.113.7", 0)


def test_xff_all_trusted_gives_the_leftmost() -> None:
    assert client_of(("X-Forwarded-For", "10.0.0.1, 10.0.0.2, 127.0.0.1")) == ("10.0.0.1", 0)


def test_xff_with_star_trust_gives_the_leftmost() -> None:
    xff = "198.51.100.1, 203.0.113.7, 10.0.0.5"
    everyone = TrustedProxies("*")
    assert client_of(("X-Forwarded-For", xff), trusted=everyone) == ("198.51.100.1", 0)


def test_xff_several_field_lines_form_one_list() -> None:
    fields = [("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-For", "203.0.113.7, 10.0.0.9")]
    assert client_of(*fields) == ("203.0.113.7", 0)


def test_xff_empty_members_are_skipped() -> None:
    assert client_of(("X-Forwarded-For", " , 203.0.113.7,, ")) == ("203.0.113.7", 0)
    assert view(("X-Forwarded-For", " , ,")) == (PEER, "http", SERVER, None)
    assert view(("X-Forwarded-For", "")) == (PEER, "http", SERVER, None)


@pytest.mark.parametrize(
    ("entry", "client"),
    [
        ("2001:db8::1", ("2001:db8::1", 0)),
        ("[2001:db8::1]", ("2001:db8::1", 0)),
        ("[2001:db8::1]:4711", ("2001:db8::1", 4711)),
        ("203.0.113.7:8080", ("203.0.113.7", 8080)),
        ("unknown", ("unknown", 0)),
        ("_hidden", ("_hidden", 0)),
    ],
)
def test_xff_entry_forms(entry: str, client: tuple[str, int]) -> None:
    assert client_of(("X-Forwarded-For", entry)) == client


@pytest.mark.parametrize(
    "entry",
    [
        "not an ip",
        "example.com",
        "1.2.3.4.5",
        "999.1.1.1",
        "01.2.3.4",
        "1.2.3.4:99999",
        "1.2.3.4:-1",
        "1.2.3.4:",
        "[1.2.3.4]",
        "[2001:db8::1",
        "[2001:db8::1]x",
        "2001:db8::g",
        "_",
        "_bad/char",
        "1.2.3.4\x00",
        "<script>",
        "1.2.3.4 5.6.7.8",
        "1.2.3.4;for=5.6.7.8",
        "x" * 5000,
    ],
)
def test_xff_malformed_entry_keeps_the_peer(entry: str) -> None:
    assert client_of(("X-Forwarded-For", entry)) == PEER
    assert client_of(("X-Forwarded-For", f"203.0.113.9, {entry}")) == PEER


def test_xff_garbage_left_of_the_client_is_never_looked_at() -> None:
    assert client_of(("X-Forwarded-For", "garbage, ][, 203.0.113.7")) == ("203.0.113.7", 0)


def test_xff_huge_list_is_cheap_and_right() -> None:
    spoof = ", ".join(f"198.51.{n // 256 % 256}.{n % 256}" for n in range(2500))
    started = time.perf_counter()
    for _ in range(100):
        assert client_of(("X-Forwarded-For", spoof + ", 203.0.113.7")) == ("203.0.113.7", 0)
    assert time.perf_counter() - started < 1.0


def test_xff_longer_trusted_chain_than_max_hops_keeps_the_peer() -> None:
    chain = ", ".join(["203.0.113.7"] + ["10.0.0.1"] * (MAX_HOPS + 5))
    assert client_of(("X-Forwarded-For", chain)) == PEER
    chain = ", ".join(["203.0.113.7"] + ["10.0.0.1"] * (MAX_HOPS - 1))
    assert client_of(("X-Forwarded-For", chain)) == ("203.0.113.7", 0)


# ---------------------------------------------------------------- X-Forwarded-Proto


@pytest.mark.parametrize(
    ("value", "scheme"),
    [
        ("https", "https"),
        ("HTTPS", "https"),
        ("http, https ", "https"),
        ("http", "http"),
        ("wss", "https"),
        ("ws", "http"),
        ("ftp", "http"),
        ("https://evil", "http"),
        ("", "http"),
        ("h\ttps", "http"),
    ],
)
def test_xfp_accepts_http_schemes_only(value: str, scheme: str) -> None:
    result = view(("X-Forwarded-Proto", value))
    assert result is not None
    assert result[1] == scheme


def test_xfp_https_connection_told_http() -> None:
    result = view(("X-Forwarded-Proto", "http"), scheme="https")
    assert result is not None
    assert result[1] == "http"


def test_xfp_list_is_read_at_the_client_hop() -> None:
    # Each proxy appended: the client-facing trusted proxy (10.0.0.5) saw https.
    fields = [("X-Forwarded-For", "203.0.113.7, 10.0.0.5"), ("X-Forwarded-Proto", "https, http")]
    result = view(*fields)
    assert result is not None
    assert result[:2] == (("203.0.113.7", 0), "https")
    # One proxy appended to a client's spoofed value: the proxy's own entry counts.
    fields = [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https, http")]
    result = view(*fields)
    assert result is not None
    assert result[1] == "http"
    # A proxy that overwrites: one value, whatever the hop.
    fields = [("X-Forwarded-For", "203.0.113.7, 10.0.0.5"), ("X-Forwarded-Proto", "https")]
    result = view(*fields)
    assert result is not None
    assert result[1] == "https"


# ---------------------------------------------------------------- host and port


def test_xfh_replaces_host_and_server() -> None:
    result = view(("X-Forwarded-Host", "example.com"))
    assert result == (PEER, "http", ("example.com", 80), b"example.com")


def test_xfh_with_https_and_its_default_port() -> None:
    fields = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "example.com:443")]
    assert view(*fields) == (PEER, "https", ("example.com", 443), b"example.com")


def test_xfh_with_a_port() -> None:
    result = view(("X-Forwarded-Host", "example.com:8443"))
    assert result == (PEER, "http", ("example.com", 8443), b"example.com:8443")


def test_xfh_ipv6_literal() -> None:
    result = view(("X-Forwarded-Host", "[2001:db8::1]:8080"))
    assert result == (PEER, "http", ("2001:db8::1", 8080), b"[2001:db8::1]:8080")


def test_xfport_replaces_the_port_of_the_forwarded_host() -> None:
    fields = [("X-Forwarded-Host", "example.com:81"), ("X-Forwarded-Port", "8080")]
    assert view(*fields) == (PEER, "http", ("example.com", 8080), b"example.com:8080")


def test_xfport_alone_changes_the_port_of_the_host_field() -> None:
    result = view(("X-Forwarded-Port", "8443"), host="app.test:8000")
    assert result == (PEER, "http", ("app.test", 8443), b"app.test:8443")
    result = view(("X-Forwarded-Port", "443"), ("X-Forwarded-Proto", "https"))
    assert result == (PEER, "https", ("app.test", 443), None)  # the Host field is right as is


def test_forwarded_host_equal_to_the_host_field_leaves_the_field_alone() -> None:
    result = view(("X-Forwarded-Host", "app.test"), ("X-Forwarded-Proto", "https"))
    assert result == (PEER, "https", ("app.test", 443), None)


def test_xfport_alone_without_a_host_field_changes_nothing() -> None:
    assert view(("X-Forwarded-Port", "8443"), host=None) == (PEER, "http", SERVER, None)


@pytest.mark.parametrize(
    "host",
    [
        "",
        "exa mple.com",
        "example.com/path",
        "user@example.com",
        "example.com:80:80",
        "example.com\r\nX-Injected: 1",
        "example.com\x00",
        "[::1",
        "example.com:99999",
        "example.com:999999999999999999999999",
        "x" * 300,
    ],
)
def test_invalid_forwarded_hosts_are_ignored(host: str) -> None:
    assert view(("X-Forwarded-Host", host)) == (PEER, "http", SERVER, None)


@pytest.mark.parametrize("port", ["0", "65536", "-1", "80a", "+80", "", "٣٣", "99999999999"])
def test_invalid_forwarded_ports_are_ignored(port: str) -> None:
    headers = [(b"Host", b"app.test"), (b"X-Forwarded-Port", port.encode())]
    assert forwarded_view(headers, LOCAL, PEER, "http", SERVER) == (PEER, "http", SERVER, None)


def test_replace_host() -> None:
    headers = [(b"Host", b"a"), (b"Accept", b"*/*")]
    assert replace_host(headers, b"b") == [(b"Host", b"b"), (b"Accept", b"*/*")]
    assert headers == [(b"Host", b"a"), (b"Accept", b"*/*")]  # a copy
    assert replace_host([(b"Accept", b"*/*")], b"b") == [(b"Accept", b"*/*"), (b"host", b"b")]
    assert replace_host([(b"host", b"b")], b"b") == [(b"host", b"b")]


# ---------------------------------------------------------------- Forwarded (RFC 7239)


def test_forwarded_basic() -> None:
    result = view(("Forwarded", "for=203.0.113.7;proto=https;host=example.com"))
    assert result == (("203.0.113.7", 0), "https", ("example.com", 443), b"example.com")


def test_forwarded_quoted_ipv6_with_port() -> None:
    value = 'for="[2001:db8:cafe::17]:4711"'
    assert client_of(("Forwarded", value)) == ("2001:db8:cafe::17", 4711)


def test_forwarded_quoted_ipv4_with_port() -> None:
    assert client_of(("Forwarded", 'for="192.0.2.43:47011"')) == ("192.0.2.43", 47011)


def test_forwarded_parameter_names_are_case_insensitive() -> None:
    result = view(("Forwarded", "For=203.0.113.7;PROTO=HTTPS"))
    assert result is not None
    assert result[:2] == (("203.0.113.7", 0), "https")


@pytest.mark.parametrize(
    ("value", "client"),
    [
        ("for=unknown", ("unknown", 0)),
        ("for=_hidden", ("_hidden", 0)),
        ('for="_gazonk:_port"', ("_gazonk", 0)),
        ('for="unknown:8080"', ("unknown", 8080)),
    ],
)
def test_forwarded_obfuscated_and_unknown_identifiers(value: str, client: object) -> None:
    assert client_of(("Forwarded", value)) == client


def test_forwarded_several_elements_walk_from_the_right() -> None:
    value = "for=198.51.100.1, for=203.0.113.7;proto=https, for=10.0.0.5;proto=http"
    result = view(("Forwarded", value))
    assert result is not None
    assert result[:2] == (("203.0.113.7", 0), "https")


def test_forwarded_several_field_lines() -> None:
    fields = [("Forwarded", "for=198.51.100.1"), ("Forwarded", "for=203.0.113.7, for=10.0.0.5")]
    assert client_of(*fields) == ("203.0.113.7", 0)


def test_forwarded_all_trusted_gives_the_leftmost() -> None:
    result = view(("Forwarded", "for=10.0.0.1;proto=https, for=10.0.0.2;proto=http"))
    assert result is not None
    assert result[:2] == (("10.0.0.1", 0), "https")


def test_forwarded_element_without_for_keeps_the_peer_and_gives_proto_and_host() -> None:
    result = view(("Forwarded", "proto=https;host=example.com"))
    assert result == (PEER, "https", ("example.com", 443), b"example.com")


def test_forwarded_quoted_pair_escapes() -> None:
    result = view(("Forwarded", 'for=203.0.113.7;host="ex\\ample.com"'))
    assert result is not None
    assert result[3] == b"example.com"


def test_forwarded_empty_pairs_are_allowed() -> None:
    assert client_of(("Forwarded", ";for=203.0.113.7;;")) == ("203.0.113.7", 0)


@pytest.mark.parametrize(
    "value",
    [
        "for",
        "for=",
        "=203.0.113.7",
        'for="203.0.113.7',
        'for=203.0.113.7"',
        'for="20"3.0.113.7"',
        "for=203.0.113.7;for=198.51.100.1",
        "f r=203.0.113.7",
        "for=[2001:db8::1]",
        "for=203.0.113.7:80",
        'for="ab\\"',
        "for=203.0.113.7 proto=https",
    ],
)
def test_forwarded_malformed_element_is_ignored(value: str) -> None:
    assert view(("Forwarded", value)) is None


@pytest.mark.parametrize(
    "value", ['for="2001:db8::1"', "for=1.2.3", 'for="[1.2.3.4]"', "for=localhost", 'for="_"']
)
def test_forwarded_bad_for_value_keeps_the_peer(value: str) -> None:
    result = view(("Forwarded", value + ";proto=https"))
    assert result is not None
    assert result[:2] == (PEER, "https")


def test_forwarded_malformed_spoof_left_of_the_client_is_never_looked_at() -> None:
    assert client_of(("Forwarded", 'for="junk, for=203.0.113.7')) == ("203.0.113.7", 0)


def test_forwarded_invalid_proto_and_host_are_ignored() -> None:
    result = view(("Forwarded", 'for=203.0.113.7;proto=gopher;host="a b"'))
    assert result == (("203.0.113.7", 0), "http", SERVER, None)


def test_x_forwarded_family_wins_over_forwarded() -> None:
    # A proxy that sets X-Forwarded-For passes a client's Forwarded field through untouched.
    fields = [
        ("Forwarded", "for=6.6.6.6;proto=https;host=evil.test"),
        ("X-Forwarded-For", "203.0.113.7"),
    ]
    assert view(*fields) == (("203.0.113.7", 0), "http", SERVER, None)
    # Any field of the family is enough.
    result = view(("Forwarded", "for=6.6.6.6"), ("X-Forwarded-Proto", "https"))
    assert result == (PEER, "https", SERVER, None)


def test_forwarded_huge_list_is_cheap_and_right() -> None:
    spoof = ", ".join(f"for=198.51.100.{n % 256}" for n in range(3000))
    started = time.perf_counter()
    for _ in range(100):
        assert client_of(("Forwarded", spoof + ", for=203.0.113.7")) == ("203.0.113.7", 0)
    assert time.perf_counter() - started < 1.0
    chain = ", ".join(["for=203.0.113.7"] + ["for=10.0.0.1"] * (MAX_HOPS + 1))
    assert view(("Forwarded", chain)) is None


# ---------------------------------------------------------------- PROXY protocol v1


def feed_whole_and_bytewise(data: bytes) -> ProxyHeader:
    """Parse `data` whole, and check that every shorter prefix of the header asks for more."""
    header = read_proxy_header(data)
    assert header is not None
    consumed = len(data) - len(header.rest)
    for end in range(consumed):
        assert read_proxy_header(data[:end]) is None, end
    return header


def test_v1_tcp4() -> None:
    header = feed_whole_and_bytewise(b"PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\nGET /")
    assert header.source == ("203.0.113.7", 56324)
    assert header.destination == ("192.0.2.1", 443)
    assert header.rest == b"GET /"
    assert not header.unix
    assert not header.ssl


def test_v1_tcp6_is_normalized() -> None:
    header = feed_whole_and_bytewise(b"PROXY TCP6 2001:DB8:0::1 ::1 1 65535\r\n")
    assert header.source == ("2001:db8::1", 1)
    assert header.destination == ("::1", 65535)
    assert header.rest == b""


def test_v1_unknown_keeps_the_connection_addresses() -> None:
    for line in (b"PROXY UNKNOWN\r\n", b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"):
        header = feed_whole_and_bytewise(line + b"x")
        assert header.source is None
        assert header.destination is None
        assert header.rest == b"x"


def test_v1_longest_headers_are_accepted() -> None:
    line = (
        b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        b"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"
    )
    header = feed_whole_and_bytewise(line)
    assert header.source == ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535)
    unknown = b"PROXY UNKNOWN " + b"x" * (PROXY_V1_MAX - 16) + b"\r\n"
    assert len(unknown) == PROXY_V1_MAX
    assert read_proxy_header(unknown) is not None


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\n\r\n",
        b"G",
        b"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
        b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
        b"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
        b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
        b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 \xd9\xa3 2\r\n",
        b"PROXY TCP4 localhost 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3.4\x00 5.6.7.8 1 2\r\n",
        b"PROXY UNKNOWN\rx\r\n",
        b"PROXY \r\n",
        b"PROXY TCP4 " + b"1" * 200,
        b"PROXY UNKNOWN " + b"x" * (PROXY_V1_MAX - 15) + b"\r\n",
    ],
)
def test_v1_malformed_headers_are_errors(data: bytes) -> None:
    with pytest.raises(ProxyProtocolError):
        read_proxy_header(data)


def test_v1_without_crlf_within_107_bytes_is_an_error_as_soon_as_it_is_known() -> None:
    data = b"PROXY UNKNOWN " + b"x" * 200
    assert read_proxy_header(data[: PROXY_V1_MAX - 1]) is None
    with pytest.raises(ProxyProtocolError):
        read_proxy_header(data[:PROXY_V1_MAX])


# ---------------------------------------------------------------- PROXY protocol v2


def v2(command: int = 0x21, family: int = 0x11, block: bytes = b"", length: int = -1) -> bytes:
    size = len(block) if length < 0 else length
    return PROXY_V2_SIGNATURE + bytes([command, family]) + struct.pack("!H", size) + block


def inet4(src: str, dst: str, sport: int, dport: int) -> bytes:
    packed = ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
    return packed + struct.pack("!HH", sport, dport)


def inet6(src: str, dst: str, sport: int, dport: int) -> bytes:
    packed = ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
    return packed + struct.pack("!HH", sport, dport)


def tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + struct.pack("!H", len(value)) + value


def test_v2_tcp4() -> None:
    block = inet4("203.0.113.7", "192.0.2.1", 56324, 443)
    header = feed_whole_and_bytewise(v2(block=block) + b"GET")
    assert header.source == ("203.0.113.7", 56324)
    assert header.destination == ("192.0.2.1", 443)
    assert header.rest == b"GET"


def test_v2_tcp6() -> None:
    header = feed_whole_and_bytewise(v2(family=0x21, block=inet6("2001:db8::7", "::1", 1, 2)))
    assert header.source == ("2001:db8::7", 1)
    assert header.destination == ("::1", 2)


def test_v2_unix() -> None:
    block = b"/run/client.sock".ljust(108, b"\x00") + b"/run/server.sock".ljust(108, b"\x00")
    header = feed_whole_and_bytewise(v2(family=0x31, block=block) + b"rest")
    assert header.unix
    assert header.source is None
    assert header.rest == b"rest"


def test_v2_local_keeps_the_connection_addresses() -> None:
    header = feed_whole_and_bytewise(v2(command=0x20, family=0x00) + b"GET")
    assert header.source is None
    assert header.rest == b"GET"
    # LOCAL ignores the family and whatever the block holds.
    header = feed_whole_and_bytewise(v2(command=0x20, family=0x11, block=b"\xff" * 7))
    assert header.source is None


def test_v2_unspec_keeps_the_connection_addresses() -> None:
    header = feed_whole_and_bytewise(v2(family=0x00, block=b"anything"))
    assert header.source is None
    assert not header.unix


def test_v2_tlvs_are_skipped_and_tls_is_noticed() -> None:
    block = inet4("203.0.113.7", "192.0.2.1", 1, 443)
    tlvs = tlv(0x04, b"\x00" * 5) + tlv(0x05, b"unique-id") + tlv(0x01, b"h2")
    header = feed_whole_and_bytewise(v2(block=block + tlvs))
    assert header.source == ("203.0.113.7", 1)
    assert not header.ssl
    ssl = tlv(0x20, b"\x01" + b"\x00\x00\x00\x00" + tlv(0x21, b"TLSv1.3"))
    assert feed_whole_and_bytewise(v2(block=block + ssl)).ssl
    not_ssl = tlv(0x20, b"\x00\x00\x00\x00\x00")
    assert not feed_whole_and_bytewise(v2(block=block + not_ssl)).ssl


def test_v2_longest_allowed_header() -> None:
    block = inet4("203.0.113.7", "192.0.2.1", 1, 2)
    padding = PROXY_V2_MAX - 16 - len(block) - 3
    data = v2(block=block + tlv(0x04, b"\x00" * padding))
    assert len(data) == PROXY_V2_MAX
    assert read_proxy_header(data) is not None


@pytest.mark.parametrize(
    "data",
    [
        v2(command=0x11, block=inet4("1.2.3.4", "5.6.7.8", 1, 2)),  # version 1 in a v2 header
        v2(command=0x31, block=inet4("1.2.3.4", "5.6.7.8", 1, 2)),  # version 3
        v2(command=0x22, block=inet4("1.2.3.4", "5.6.7.8", 1, 2)),  # unknown command
        v2(family=0x12, block=inet4("1.2.3.4", "5.6.7.8", 1, 2)),  # UDP
        v2(family=0x22, block=inet6("::1", "::1", 1, 2)),  # UDP over IPv6
        v2(family=0x32, block=b"\x00" * 216),  # Unix datagram
        v2(family=0x41, block=b"\x00" * 12),  # no such family
        v2(family=0x13, block=b"\x00" * 12),  # no such transport
        v2(family=0x11, block=b"\x00" * 11),  # address block too short
        v2(family=0x21, block=b"\x00" * 12),
        v2(family=0x31, block=b"\x00" * 100),
        v2(block=inet4("1.2.3.4", "5.6.7.8", 1, 2) + b"\x04\x00"),  # truncated TLV head
        v2(block=inet4("1.2.3.4", "5.6.7.8", 1, 2) + b"\x04\x00\x05abc"),  # TLV overruns
        v2(block=inet4("1.2.3.4", "5.6.7.8", 1, 2) + tlv(0x20, b"\x01")),  # short SSL TLV
        v2(length=PROXY_V2_MAX),  # too long to buffer
        v2(length=0xFFFF),
        PROXY_V2_SIGNATURE[:5] + b"X",
        b"\r\n\r\n\x00\r\nQUIT\r",
    ],
)
def test_v2_malformed_headers_are_errors(data: bytes) -> None:
    with pytest.raises(ProxyProtocolError):
        read_proxy_header(data)


def test_v2_too_long_is_refused_from_its_first_16_bytes() -> None:
    with pytest.raises(ProxyProtocolError):
        read_proxy_header(v2(length=60000))


def test_nothing_yet_needs_more() -> None:
    assert read_proxy_header(b"") is None
    assert read_proxy_header(b"\r") is None
    assert read_proxy_header(b"P") is None
