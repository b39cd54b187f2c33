"""RFC 9110 / RFC 9112 character rules, as byte tables and compiled patterns.

Validation is done in bulk: ``bytes.translate(None, delete=TABLE)`` removes every allowed byte in
one C call, so a non-empty result means the input has a forbidden byte.  Patterns are only used
where structure matters (chunk lines, Host).
"""

from __future__ import annotations

import re

__all__ = [
    "CHUNK_LINE_RE",
    "FIELD_VALUE_CHARS",
    "HOST_RE",
    "HTTP_AUTHORITY_RE",
    "SCHEME_RE",
    "TARGET_CHARS",
    "TOKEN_CHARS",
    "VERSION_RE",
]

# tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
#         / DIGIT / ALPHA                                                    (RFC 9110 §5.6.2)
# token = 1*tchar
TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# field-value = *field-content ; field-vchar = VCHAR / obs-text, with SP / HTAB between
# (RFC 9110 §5.5).  So: everything but the CTLs other than HTAB, and DEL.
FIELD_VALUE_CHARS = b"\t" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))

# A request-target is VCHARs only: no SP, no CTL, no obs-text (RFC 9112 §3.2, RFC 3986).  Characters
# RFC 3986 excludes but browsers send anyway (`"`, `|`, `{`, ...) are let through, as h11 and llhttp
# do: they cannot change how the message is framed.
TARGET_CHARS = bytes(range(0x21, 0x7F))

# HTTP-version = HTTP-name "/" DIGIT "." DIGIT ; HTTP-name = %s"HTTP"     (RFC 9112 §2.3)
VERSION_RE = re.compile(rb"HTTP/([0-9])\.([0-9])")

# absolute-form = absolute-URI ; scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1)
SCHEME_RE = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*:")

# http-URI = "http" "://" authority path-abempty [ "?" query ]           (RFC 9110 §4.2.1, §4.2.2)
# authority = [ userinfo "@" ] host [ ":" port ]: group 1 is host [ ":" port ], checked with HOST_RE
# and not empty: "A recipient that processes such a URI reference MUST reject it as invalid."
HTTP_AUTHORITY_RE = re.compile(rb"//(?:[^/?#@]*@)?([^/?#@:][^/?#@]*)(?=[/?#]|\Z)")

# Host = uri-host [ ":" port ]                                              (RFC 9110 §7.2)
# uri-host = IP-literal / IPv4address / reg-name
# reg-name = *( unreserved / pct-encoded / sub-delims )
_UNRESERVED_SUBDELIMS = rb"A-Za-z0-9\-._~!$&'()*+,;="
# IP-literal = "[" ( IPv6address / IPv6addrz / IPvFuture ) "]": checked for its alphabet only.
HOST_RE = re.compile(
    rb"(?:\[[" + _UNRESERVED_SUBDELIMS + rb":%]+\]"
    rb"|(?:[" + _UNRESERVED_SUBDELIMS + rb"]|%[0-9A-Fa-f]{2})*)"
    rb"(?::[0-9]*)?"
)

# chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF                     (RFC 9112 §7.1)
# chunk-size = 1*HEXDIG
# chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
# chunk-ext-val = token / quoted-string
# quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE                  (RFC 9110 §5.6.4)
# qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
# quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
_TOKEN = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
_QUOTED = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
CHUNK_LINE_RE = re.compile(
    rb"([0-9A-Fa-f]+)(?:[ \t]*;[ \t]*"
    + _TOKEN
    + rb"(?:[ \t]*=[ \t]*(?:"
    + _TOKEN
    + rb"|"
    + _QUOTED
    + rb"))?)*"
)
