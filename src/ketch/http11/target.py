"""Splitting a request-target (RFC 9112 §3.2) into the path and the query a front door routes on."""

from __future__ import annotations

__all__ = ["split_target"]


def split_target(method: bytes, target: bytes) -> tuple[bytes, bytes]:
    """Return the raw (still percent-encoded) path and query of a request-target.

    origin-form gives its own path and query; absolute-form gives the path after the authority
    (``/`` when empty); asterisk-form and CONNECT's authority-form are returned whole.
    """
    if target[:1] != b"/":
        if target == b"*" or method == b"CONNECT":
            return target, b""
        # absolute-form: scheme "://" authority path-abempty [ "?" query ]
        after_scheme = target.partition(b"://")[2]
        slash = after_scheme.find(b"/")
        question = after_scheme.find(b"?")
        if slash < 0 or (0 <= question < slash):
            target = b"/" + after_scheme[question:] if question >= 0 else b"/"
        else:
            target = after_scheme[slash:]
    path, _, query = target.partition(b"?")
    return path, query
