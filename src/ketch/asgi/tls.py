"""The ASGI ``tls`` extension (https://asgi.readthedocs.io/en/latest/specs/tls.html).

Offered in ``scope["extensions"]["tls"]`` on TLS connections only (the spec forbids it elsewhere),
for ``http`` and ``websocket`` scopes.  The dictionary is worked out once per connection, on its
first request, and shared by the connection's later requests:

* ``server_cert``: the server's certificate (PEM), the first one of ``--ssl-certfile``; ``None``
  when the server was given an ``ssl_context`` (Python cannot read a certificate back from one) or
  a certificate made by ``ketch.run(..., self_signed=True)``.
* ``client_cert_chain``: the client's certificate then the chain up to the trust anchor, as
  verified (Python 3.13+), or the client's certificate alone (3.11, 3.12); empty without one.
* ``client_cert_name``: the client certificate's subject as an RFC 4514 string, or ``None``.
* ``client_cert_error``: always ``None``: Python's TLS rejects a client certificate that fails
  verification during the handshake, so a request never arrives with one.
* ``tls_version``: ``0x0303`` for TLS 1.2, ``0x0304`` for TLS 1.3.
* ``cipher_suite``: the IANA number, such as ``0x1301`` for ``TLS_AES_128_GCM_SHA256``.

Client certificates are asked for only with ``--ssl-cert-reqs optional`` or ``required`` (and
``--ssl-ca-certs`` to verify them with).
"""

from __future__ import annotations

import re
import ssl
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..server.config import Config
    from ..server.handler import Exchange

__all__ = ["TLSScope", "rfc4514_name"]

_TLS_VERSIONS = {"SSLv3": 0x0300, "TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303}
_TLS_VERSIONS["TLSv1.3"] = 0x0304
_PEM_CERT = re.compile(
    r"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)
# RFC 4514 §3: the attribute types with a short name; others keep OpenSSL's long name.
_SHORT_NAMES = {
    "commonName": "CN",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
}


class TLSScope:
    """Builds the ``tls`` extension of a server's connections.

    Args:
        server_cert: the server certificate in PEM, or ``None`` if unknown.
    """

    def __init__(self, server_cert: str | None) -> None:
        self.server_cert = server_cert
        self._connections: weakref.WeakKeyDictionary[Any, dict[str, Any]] = (
            weakref.WeakKeyDictionary()
        )
        self._cipher_ids: dict[str, int] = {}

    @classmethod
    def from_config(cls, config: Config) -> TLSScope:
        """The extension for a server with `config`'s TLS settings."""
        return cls(server_certificate(config.ssl_certfile) if config.ssl_certfile else None)

    def extensions(self, exchange: Exchange, base: dict[str, Any]) -> dict[str, Any]:
        """`base` plus ``"tls"`` if the exchange's connection is a TLS one."""
        ssl_object = exchange.get_extra_info("ssl_object")
        if ssl_object is None:
            return base
        info = self._connections.get(ssl_object)
        if info is None:
            info = self._connections[ssl_object] = self.describe(ssl_object)
        return {**base, "tls": info}

    def describe(self, ssl_object: ssl.SSLObject) -> dict[str, Any]:
        """The ``tls`` extension's dictionary for one connection."""
        leaf = ssl_object.getpeercert(binary_form=True)
        chain: list[str] = []
        name = None
        if leaf:
            chain = [ssl.DER_cert_to_PEM_cert(der) for der in _verified_chain(ssl_object, leaf)]
            name = rfc4514_name(ssl_object.getpeercert() or {})
        cipher = ssl_object.cipher()
        version = ssl_object.version()
        return {
            "server_cert": self.server_cert,
            "client_cert_chain": chain,
            "client_cert_name": name,
            "client_cert_error": None,
            "tls_version": _TLS_VERSIONS.get(version) if version else None,
            "cipher_suite": self._cipher_id(ssl_object, cipher[0]) if cipher else None,
        }

    def _cipher_id(self, ssl_object: ssl.SSLObject, name: str) -> int | None:
        number = self._cipher_ids.get(name)
        if number is None:
            # OpenSSL's cipher list carries the IANA number in its low 16 bits.
            for cipher in ssl_object.context.get_ciphers():
                self._cipher_ids[cipher["name"]] = cipher["id"] & 0xFFFF
            number = self._cipher_ids.get(name)
        return number


def _verified_chain(ssl_object: ssl.SSLObject, leaf: bytes) -> list[bytes]:
    # Python 3.13+: the client's certificate up to the trust anchor, each one DER.
    get_chain = getattr(ssl_object, "get_verified_chain", None)
    chain = get_chain() if get_chain is not None else None
    return [bytes(der) for der in chain] if chain else [leaf]


def server_certificate(certfile: str) -> str | None:
    """The first certificate of a PEM file (the server's own, before its chain), or ``None``."""
    try:
        with open(certfile, encoding="ascii", errors="replace") as file:
            text = file.read()
    except OSError:
        return None
    match = _PEM_CERT.search(text)
    return match.group(0).replace("\r\n", "\n") + "\n" if match else None


def rfc4514_name(peercert: dict[str, Any]) -> str | None:
    """The subject of a certificate as ``ssl.getpeercert()`` returns it, as an RFC 4514 string.

    RFC 4514 §2.1 lists the RDNs last first; multi-valued RDNs join with ``+``.
    """
    subject = peercert.get("subject")
    if not subject:
        return None
    return ",".join(
        "+".join(f"{_SHORT_NAMES.get(kind, kind)}={_escape(value)}" for kind, value in rdn)
        for rdn in reversed(subject)
    )


def _escape(value: str) -> str:
    # RFC 4514 §2.4: escape the specials, a leading space or '#', a trailing space, and NUL.
    out = "".join("\\" + ch if ch in ',+"\\<>;' else ch for ch in value).replace("\0", "\\00")
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" ") and len(out) > 1:
        out = out[:-1] + "\\ "
    return out
