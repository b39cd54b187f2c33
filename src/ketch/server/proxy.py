"""Behind proxies: who the client is, by the word of a trusted peer.  Sans-IO, no asyncio.

Theory of operation:

* Trust (`TrustedProxies`): ``--forwarded-allow-ips`` is parsed once into IP networks (an address
  is a /32 or /128 network; ``*`` trusts everyone).  An IPv4-mapped IPv6 peer
  (``::ffff:127.0.0.1``) matches IPv4 entries.  A Unix socket peer has no address (``None``) and is
  always trusted: only local processes with the socket's permissions can connect.  Answers are
  cached per address string (bounded), so a connection costs one dict lookup.
* Headers (`forwarded_view`): only requests on connections from a trusted peer are looked at.  The
  peer's proxy speaks either the ``X-Forwarded-*`` family or RFC 7239 ``Forwarded``.  When any
  ``X-Forwarded-*`` field is present that family is used and ``Forwarded`` is ignored; otherwise
  ``Forwarded`` is.  The de-facto headers win because nearly every proxy sets them (nginx, AWS,
  Envoy, Caddy) and passes a ``Forwarded`` header from the client through untouched: letting
  ``Forwarded`` win would let any client pick its own address.
* The client: the address list (``X-Forwarded-For``, the ``for=`` of ``Forwarded`` elements) is
  walked from the right, where the nearest proxy appended what it saw.  Entries that are themselves
  trusted proxies are skipped; the first other one is the client; if every entry is trusted, the
  leftmost.  Only `MAX_HOPS` entries are walked, so a client padding the list costs nothing.  An
  entry that is not an address (garbage, a bad IP) ends the walk and the client stays the peer.
  ``unknown`` and obfuscated identifiers (``_hidden``, RFC 7239 §6.3) are taken as given.
* Scheme, host and port come from the same hop: in the ``Forwarded`` element the walk stopped at,
  or, for ``X-Forwarded-Proto``/``-Host``/``-Port``, at the walk's position counted from the right
  (clamped to the list's start), so proxies that overwrite these fields and proxies that append to
  them both work.  Only ``http``/``https`` (and ``ws``/``wss``, mapped to them) are schemes; a host
  must be a valid Host value; a port 1-65535.  A malformed value is ignored, never an error.
* The forwarded host and port replace the request's Host field (the default port of the scheme is
  left out) and the ``server`` pair, which then names the server as the client reached it.
* PROXY protocol (`read_proxy_header`): v1 (text, at most 107 bytes) and v2 (binary, 16-byte
  header + length).  Fed the bytes received so far it returns None (need more), a `ProxyHeader`,
  or raises `ProxyProtocolError`; anything malformed is an error, so the caller closes.
"""

from __future__ import annotations

import ipaddress
import struct

from ..http11._abnf import HOST_RE
from ..http11.errors import KetchError

__all__ = [
    "IPV4",
    "IPV4_TRUSTED",
    "IPV6",
    "IPV6_TRUSTED",
    "MAX_HOPS",
    "NOT_AN_ADDRESS",
    "PROXY_V1_MAX",
    "PROXY_V2_MAX",
    "PROXY_V2_SIGNATURE",
    "ProxyHeader",
    "ProxyProtocolError",
    "TrustedProxies",
    "forwarded_view",
    "read_proxy_header",
    "replace_host",
]

MAX_HOPS = 32  # proxy-list entries walked from the right; real chains are a handful deep
_CACHE_MAX = 1024  # trust answers cached per address string
_ADDRESS_MAX = 64  # longer strings are no address (IPv6 with a scope id is under 64)

# `TrustedProxies.classify` codes: 0 is not an address; else the IP version times 2, plus 1 if
# the address is trusted.
NOT_AN_ADDRESS = 0
IPV4, IPV4_TRUSTED, IPV6, IPV6_TRUSTED = 8, 9, 12, 13


class TrustedProxies:
    """The peers whose proxy headers and PROXY protocol headers are believed.

    Args:
        spec: comma-separated IP addresses and CIDR networks (``"127.0.0.1,10.0.0.0/8,::1"``);
            ``*`` trusts every peer; blanks are ignored (an empty spec trusts only Unix sockets).

    Raises:
        ValueError: an entry is neither an address nor a network.
    """

    def __init__(self, spec: str) -> None:
        self.everyone = False
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self._cache: dict[str, int] = {}
        for entry in spec.split(","):
            entry = entry.strip()
            if not entry:
                continue
            if entry == "*":
                self.everyone = True
                continue
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    f"forwarded_allow_ips: {entry!r} is not an IP address or network"
                ) from None

    def trusts(self, peer: tuple[str, int] | None) -> bool:
        """Whether a peer is trusted.

        Args:
            peer: the peer's ``(host, port)``, or None for a Unix socket peer (always trusted).
        """
        return peer is None or self.classify(peer[0]) & 1 == 1

    def classify(self, host: str) -> int:
        """Whether `host` is an IP address, of which version, and if it is trusted.

        Returns:
            `NOT_AN_ADDRESS`, `IPV4`, `IPV4_TRUSTED`, `IPV6` or `IPV6_TRUSTED` (odd: trusted).
        """
        kind = self._cache.get(host)
        if kind is None:
            kind = self._classify(host)
            if len(host) <= _ADDRESS_MAX:
                if len(self._cache) >= _CACHE_MAX:
                    self._cache.clear()
                self._cache[host] = kind
        return kind

    def _classify(self, host: str) -> int:
        if not host or len(host) > _ADDRESS_MAX:
            return NOT_AN_ADDRESS
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return NOT_AN_ADDRESS
        code = IPV4 if address.version == 4 else IPV6
        if self.everyone:
            return code + 1
        if isinstance(address, ipaddress.IPv6Address):
            mapped = address.ipv4_mapped
            if mapped is not None and any(mapped in network for network in self._networks):
                return code + 1
        if any(address in network for network in self._networks):
            return code + 1
        return code


# ---------------------------------------------------------------- proxy headers

_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
_SCHEME_BYTES = {name.encode(): scheme for name, scheme in _SCHEMES.items()}
_OWS = " \t"
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_OBF = frozenset("._-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

# What `forwarded_view` returns: (client, scheme, server, host field value or None).
View = tuple[tuple[str, int] | None, str, tuple[str, int] | None, bytes | None]


def forwarded_view(
    headers: list[tuple[bytes, bytes]],
    trusted: TrustedProxies,
    client: tuple[str, int] | None,
    scheme: str,
    server: tuple[str, int] | None,
) -> View | None:
    """The request as the client made it, from the proxy fields of a trusted peer's request.

    Args:
        headers: the request's fields as the core parsed them (names in any case, values
            without surrounding whitespace).
        trusted: the trusted proxies (to skip proxies in address lists).
        client, scheme, server: the connection's own values, kept where no valid field says
            otherwise.

    Returns:
        None when the request has no proxy field; else ``(client, scheme, server, host)`` where
        `host` is the new Host field value, or None when the request's own is right as is.
    """
    # Field lines of one name form one comma-separated list (RFC 9110 §5.3).
    xff = proto = host = port = forwarded = None
    for name, value in headers:
        first = name[0] | 0x20  # lowercase, for letters
        if first == 0x78:  # "x"
            lname = name.lower()
            if lname == b"x-forwarded-for":
                xff = value if xff is None else xff + b"," + value
            elif lname == b"x-forwarded-proto":
                proto = value if proto is None else proto + b"," + value
            elif lname == b"x-forwarded-host":
                host = value if host is None else host + b"," + value
            elif lname == b"x-forwarded-port":
                port = value if port is None else port + b"," + value
        elif first == 0x66 and name.lower() == b"forwarded":  # "f"
            forwarded = value if forwarded is None else forwarded + b"," + value
    if xff is None and proto is None and host is None and port is None:
        if forwarded is None:
            return None
        return _from_forwarded(headers, forwarded, trusted, client, scheme, server)
    hop = 0
    if xff is not None:
        hop, client = _client_from_list(xff.decode("latin-1"), trusted, client)
    if proto is not None:
        member = _at_hop(proto, hop)
        if member is not None:
            scheme = _SCHEME_BYTES.get(member.lower(), scheme)
    if host is not None:
        host = _at_hop(host, hop)
    if port is not None:
        port = _at_hop(port, hop)
    if host is None and port is None:
        return client, scheme, server, None
    return _with_host(headers, host, port, client, scheme, server)


def _client_from_list(
    text: str, trusted: TrustedProxies, client: tuple[str, int] | None
) -> tuple[int, tuple[str, int] | None]:
    """Walk X-Forwarded-For from the right; returns the client's position and the client."""
    if text.find(",") < 0:  # one proxy: its client is the one entry
        node = _parse_node(text, trusted, True)
        return 0, client if node is None else node
    parts = text.rsplit(",", MAX_HOPS)
    complete = len(parts) <= MAX_HOPS  # else parts[0] is the unsplit rest of the list
    if not complete:
        del parts[0]
    entries = [entry for entry in map(str.strip, parts) if entry]
    leftmost = len(entries) - 1 if complete else -1
    entries.reverse()
    hop = 0
    for hop, entry in enumerate(entries):
        node = _parse_node(entry, trusted, True)
        if node is None:
            break  # not an address: keep the peer
        if hop != leftmost and trusted.classify(node[0]) & 1:
            continue
        return hop, node
    return hop, client


def _at_hop(value: bytes, hop: int) -> bytes | None:
    """The list member `hop` places from the right (the leftmost if the list is shorter)."""
    if value.find(b",") < 0:  # (faster than `in` once compiled)
        return value or None  # one member: the core already stripped it
    parts = value.rsplit(b",", hop + 1)
    value = parts[-(hop + 1)] if len(parts) >= hop + 1 else parts[0]
    return value.strip(b" \t") or None


def _from_forwarded(
    headers: list[tuple[bytes, bytes]],
    value: bytes,
    trusted: TrustedProxies,
    client: tuple[str, int] | None,
    scheme: str,
    server: tuple[str, int] | None,
) -> View | None:
    # Pieces split on commas from the right: a quoted value holding a comma makes a piece that
    # does not parse, which ends the walk there (no real for/proto/host value holds one).
    parts = value.decode("latin-1").rsplit(",", MAX_HOPS)
    complete = len(parts) <= MAX_HOPS
    pieces = [piece for piece in (parts if complete else parts[1:]) if piece.strip(_OWS)]
    leftmost = len(pieces) - 1 if complete else -1
    element: dict[str, str] | None = None
    for hop, piece in enumerate(reversed(pieces)):
        element = _parse_element(piece)
        if element is None:
            return None  # malformed: nothing in it can be believed
        target = element.get("for")
        if target is None:
            break
        node = _parse_node(target, trusted, False)
        if node is None:
            break
        if hop != leftmost and trusted.classify(node[0]) & 1:
            if hop == len(pieces) - 1:
                return None  # a longer chain than MAX_HOPS: keep the peer
            continue
        client = node
        break
    if element is None:
        return None
    proto = element.get("proto")
    if proto is not None:
        scheme = _SCHEMES.get(proto.lower(), scheme)
    host = element.get("host")
    if host is None:
        return client, scheme, server, None
    return _with_host(headers, host.encode("latin-1"), None, client, scheme, server)


def _parse_element(piece: str) -> dict[str, str] | None:
    """``forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )`` (RFC 7239 §4)."""
    element: dict[str, str] = {}
    for pair in piece.split(";"):
        pair = pair.strip(_OWS)
        if not pair:
            continue
        name, eq, value = pair.partition("=")
        if not eq or not name or not _TCHAR.issuperset(name):
            return None
        name = name.lower()
        if name in element:
            return None  # "Each parameter MUST NOT occur more than once per forwarded-element"
        if value[:1] == '"':
            unquoted = _unquote(value)
            if unquoted is None:
                return None
            value = unquoted
        elif not value or not _TCHAR.issuperset(value):
            return None
        element[name] = value
    return element


def _unquote(value: str) -> str | None:
    """``quoted-string`` (RFC 9110 §5.6.4) without its quotes and escapes, or None if invalid."""
    if len(value) < 2 or value[-1] != '"':
        return None
    inner = value[1:-1]
    if "\\" not in inner:
        return None if '"' in inner or not inner.isprintable() else inner
    chars = []
    escaped = False
    for char in inner:
        if escaped:
            chars.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return None
        else:
            chars.append(char)
    text = "".join(chars)
    return None if escaped or not text.isprintable() else text


def _parse_node(text: str, trusted: TrustedProxies, bracketless_v6: bool) -> tuple[str, int] | None:
    """An address list entry as ``(host, port)``; port 0 when absent or obfuscated.

    ``node = nodename [ ":" node-port ]`` with ``nodename = IPv4address / "[" IPv6address "]" /
    "unknown" / obfnode`` (RFC 7239 §6).  X-Forwarded-For also carries bare IPv6 addresses.
    """
    code = trusted.classify(text)
    if code:  # a bare address: IPv4, or IPv6 where allowed
        return (text, 0) if code < IPV6 or bracketless_v6 else None
    port = 0
    if text[:1] == "[":
        address, bracket, rest = text[1:].partition("]")
        if not bracket or trusted.classify(address) < IPV6:
            return None
        if rest:
            if rest[0] != ":":
                return None
            port = _node_port(rest[1:])
            if port < 0:
                return None
        return address, port
    name, colon, port_text = text.partition(":")
    if colon:
        port = _node_port(port_text)
        if port < 0:
            return None
    if trusted.classify(name) & ~1 == IPV4:
        return name, port
    if name == "unknown" or (name[:1] == "_" and len(name) > 1 and _OBF.issuperset(name)):
        return name, port
    return None


def _node_port(text: str) -> int:
    """``node-port = port / obfport``: the port, 0 if obfuscated, -1 if invalid."""
    if text.isdigit() and text.isascii() and len(text) <= 5:
        port = int(text)
        return port if port <= 65535 else -1
    if text[:1] == "_" and len(text) > 1 and _OBF.issuperset(text):
        return 0
    return -1


def _with_host(
    headers: list[tuple[bytes, bytes]],
    host: bytes | None,
    port: bytes | None,
    client: tuple[str, int] | None,
    scheme: str,
    server: tuple[str, int] | None,
) -> View:
    """Apply a forwarded host and/or port; invalid ones are ignored."""
    current = None
    for name, value in headers:
        if name.lower() == b"host":
            current = value
            break
    key = (host, port, current, scheme)
    known = _hosts.get(key)
    if known is None:
        known = _resolve_host(host, port, current, scheme)
        if len(host or b"") + len(current or b"") <= 512:
            if len(_hosts) >= _CACHE_MAX:
                _hosts.clear()
            _hosts[key] = known
    new_server, field = known
    return client, scheme, server if new_server is None else new_server, field


# Forwarded host and port, current Host, scheme -> (server, new Host value or None if unchanged).
_hosts: dict[
    tuple[bytes | None, bytes | None, bytes | None, str],
    tuple[tuple[str, int] | None, bytes | None],
] = {}


def _resolve_host(
    host: bytes | None, port: bytes | None, current: bytes | None, scheme: str
) -> tuple[tuple[str, int] | None, bytes | None]:
    if host is not None and (len(host) > 255 or not HOST_RE.fullmatch(host)):
        host = None
    if port is not None and not _valid_port(port):
        port = None
    base = host
    if base is None:
        if port is None or not current:
            return None, None
        base = current
    if base[:1] == b"[":
        name, _, own = base.partition(b"]")
        name += b"]"
        own_port = own[1:] if own[:1] == b":" else b""
    else:
        name, _, own_port = base.partition(b":")
    if not name:
        return None, None
    default = 443 if scheme == "https" else 80
    if port is not None:
        number = int(port)
    elif not own_port:
        number = default
    elif _valid_port(own_port):
        number = int(own_port)
    else:
        return None, None
    field = name if number == default else b"%s:%d" % (name, number)
    text = name.decode("latin-1")
    return (text.strip("[]"), number), None if field == current else field


def replace_host(headers: list[tuple[bytes, bytes]], host: bytes) -> list[tuple[bytes, bytes]]:
    """A copy of `headers` with the Host field's value set to `host` (added if missing)."""
    replaced = []
    found = False
    for name, value in headers:
        if name.lower() == b"host":
            replaced.append((name, host))
            found = True
        else:
            replaced.append((name, value))
    if not found:
        replaced.append((b"host", host))
    return replaced


def _valid_port(text: bytes) -> bool:
    return text.isdigit() and len(text) <= 5 and 0 < int(text) <= 65535


# ---------------------------------------------------------------- PROXY protocol

PROXY_V1_MAX = 107  # "a 108-byte buffer is always enough to store all the line and a trailing zero"
PROXY_V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
# v2 is 16 bytes plus a length of up to 65535.  Addresses take at most 216 bytes; the rest are
# TLVs (TLS details, unique ids, cloud endpoint ids: a few hundred bytes in practice).  Longer
# headers are refused rather than buffered.
PROXY_V2_MAX = 16 + 4096
_V1_PREFIX = b"PROXY "
_V2_ADDRESS_SIZES = {0x11: 12, 0x21: 36, 0x31: 216}
_PP2_TYPE_SSL = 0x20
_PP2_CLIENT_SSL = 0x01


class ProxyProtocolError(KetchError):
    """A malformed PROXY protocol header: the connection must be closed."""


class ProxyHeader:
    """A parsed PROXY protocol header.

    Attributes:
        source: the client's ``(host, port)``; None when the proxy gives no address (v1
            ``UNKNOWN``, v2 ``LOCAL`` or ``UNSPEC``: use the connection's own) or a Unix socket
            address (`unix` is then True).
        destination: the address the client connected to, likewise.
        unix: the proxy's client came over a Unix socket (no address to report).
        ssl: the proxy's client connection used TLS (v2 ``PP2_TYPE_SSL``).
        rest: the bytes after the header: the start of the proxied stream.
    """

    __slots__ = ("destination", "rest", "source", "ssl", "unix")

    def __init__(
        self,
        source: tuple[str, int] | None,
        destination: tuple[str, int] | None,
        rest: bytes,
        *,
        unix: bool = False,
        ssl: bool = False,
    ) -> None:
        self.source = source
        self.destination = destination
        self.rest = rest
        self.unix = unix
        self.ssl = ssl

    def __repr__(self) -> str:
        return (
            f"ProxyHeader(source={self.source!r}, destination={self.destination!r}, "
            f"unix={self.unix}, ssl={self.ssl}, rest={self.rest[:16]!r})"
        )


def read_proxy_header(data: bytes) -> ProxyHeader | None:
    """Parse the PROXY protocol header at the start of a connection's bytes.

    Args:
        data: every byte received so far.

    Returns:
        None if more bytes are needed, else the header (with the bytes that follow it).

    Raises:
        ProxyProtocolError: the bytes are not a valid v1 or v2 header (or too long for one).
    """
    if data[:6] == _V1_PREFIX[: len(data)] and data:
        if len(data) < len(_V1_PREFIX):
            return None
        end = data.find(b"\r\n", 0, PROXY_V1_MAX)
        if end < 0:
            if len(data) >= PROXY_V1_MAX or b"\n" in data:
                raise ProxyProtocolError("PROXY v1 header without CRLF in its first 107 bytes")
            return None
        return _read_v1(data[6:end], data[end + 2 :])
    if data[:12] == PROXY_V2_SIGNATURE[: len(data)]:
        if len(data) < 16:
            return None
        length = int.from_bytes(data[14:16], "big")
        if 16 + length > PROXY_V2_MAX:
            raise ProxyProtocolError(f"PROXY v2 header of {16 + length} bytes is too long")
        if len(data) < 16 + length:
            return None
        return _read_v2(data[12], data[13], data[16 : 16 + length], data[16 + length :])
    raise ProxyProtocolError("the connection did not start with a PROXY protocol header")


def _read_v1(line: bytes, rest: bytes) -> ProxyHeader:
    # "PROXY" SP ( "TCP4" / "TCP6" ) SP src SP dst SP sport SP dport, or "PROXY UNKNOWN" [...]
    if line == b"UNKNOWN" or line.startswith(b"UNKNOWN "):
        if b"\r" in line or b"\n" in line:
            raise ProxyProtocolError("invalid PROXY v1 header")
        return ProxyHeader(None, None, rest)
    parts = line.split(b" ")
    if len(parts) != 5 or parts[0] not in (b"TCP4", b"TCP6"):
        raise ProxyProtocolError(f"invalid PROXY v1 header {line[:107]!r}")
    version = 4 if parts[0] == b"TCP4" else 6
    source = _v1_address(parts[1], version)
    destination = _v1_address(parts[2], version)
    return ProxyHeader((source, _v1_port(parts[3])), (destination, _v1_port(parts[4])), rest)


def _v1_address(text: bytes, version: int) -> str:
    try:
        address = ipaddress.ip_address(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise ProxyProtocolError(f"invalid address {text[:64]!r} in a PROXY v1 header") from None
    if address.version != version or (version == 6 and "%" in str(address)):
        raise ProxyProtocolError(f"invalid address {text[:64]!r} in a PROXY v1 header")
    return str(address)


def _v1_port(text: bytes) -> int:
    # A decimal 0-65535, without leading zeros (as HAProxy writes it).
    if not text.isdigit() or len(text) > 5 or (text[0] == 0x30 and len(text) > 1):
        raise ProxyProtocolError(f"invalid port {text[:16]!r} in a PROXY v1 header")
    port = int(text)
    if port > 65535:
        raise ProxyProtocolError(f"invalid port {text[:16]!r} in a PROXY v1 header")
    return port


def _read_v2(command: int, family: int, block: bytes, rest: bytes) -> ProxyHeader:
    if command >> 4 != 2:
        raise ProxyProtocolError(f"unsupported PROXY protocol version {command >> 4}")
    command &= 0x0F
    if command == 0x0:
        # LOCAL: the proxy's own connection (a health check).  "the receiver must accept this
        # connection as valid and must use the real connection endpoints and discard the
        # protocol block including the family which is ignored."
        return ProxyHeader(None, None, rest)
    if command != 0x1:
        raise ProxyProtocolError(f"unknown PROXY v2 command {command}")
    if family == 0x00:  # UNSPEC: "The receiver should ignore address information."
        return ProxyHeader(None, None, rest)
    size = _V2_ADDRESS_SIZES.get(family)
    if size is None:  # datagram transports, unknown families
        raise ProxyProtocolError(f"unsupported PROXY v2 address family 0x{family:02x}")
    if len(block) < size:
        raise ProxyProtocolError("PROXY v2 address block shorter than its family needs")
    ssl = _check_tlvs(block[size:])
    if family == 0x11:
        src_ip, dst_ip, src_port, dst_port = struct.unpack_from("!4s4sHH", block)
        return ProxyHeader(
            (str(ipaddress.IPv4Address(src_ip)), src_port),
            (str(ipaddress.IPv4Address(dst_ip)), dst_port),
            rest,
            ssl=ssl,
        )
    if family == 0x21:
        src_ip, dst_ip, src_port, dst_port = struct.unpack_from("!16s16sHH", block)
        return ProxyHeader(
            (str(ipaddress.IPv6Address(src_ip)), src_port),
            (str(ipaddress.IPv6Address(dst_ip)), dst_port),
            rest,
            ssl=ssl,
        )
    return ProxyHeader(None, None, rest, unix=True, ssl=ssl)


def _check_tlvs(data: bytes) -> bool:
    """Walk the TLVs (each: type, 2-byte length, value) to their exact end; True if TLS."""
    ssl = False
    offset = 0
    while offset < len(data):
        if len(data) - offset < 3:
            raise ProxyProtocolError("truncated TLV in a PROXY v2 header")
        kind = data[offset]
        length = (data[offset + 1] << 8) | data[offset + 2]
        offset += 3
        if offset + length > len(data):
            raise ProxyProtocolError("TLV longer than the PROXY v2 header")
        if kind == _PP2_TYPE_SSL:
            # struct pp2_tlv_ssl { uint8_t client; uint32_t verify; struct pp2_tlv sub_tlv[0]; }
            if length < 5:
                raise ProxyProtocolError("truncated PP2_TYPE_SSL TLV")
            ssl = bool(data[offset] & _PP2_CLIENT_SSL)
        offset += length
    return ssl
