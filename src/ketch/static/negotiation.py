"""Precompressed variants: ``app.js.br``, ``app.js.zst`` and ``app.js.gz`` beside ``app.js``.

A build step compresses the files once; each request picks the variant its ``Accept-Encoding``
allows (RFC 9110 §12.5.3), with no compression at request time.  The client's q-values rank the
codings; among equals the server prefers Brotli, then Zstandard, then gzip (smallest first).
A variant must be a regular file, not a symbolic link: `resolve_under` vouched for the requested
path only, and a link beside it could point anywhere.
"""

from __future__ import annotations

import os
import re
import stat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "PRECOMPRESSED",
    "accepted_codings",
    "choose_coding",
    "choose_precompressed",
    "precompressed_variants",
]

# (file suffix, content coding), in the server's order of preference.
PRECOMPRESSED = ((".br", b"br"), (".zst", b"zstd"), (".gz", b"gzip"))

# weight = OWS ";" OWS "q=" qvalue
# qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )                (RFC 9110 §12.4.2)
_QVALUE = re.compile(rb"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
_OWS = b" \t"
_ALIASES = {b"x-gzip": b"gzip"}  # "SHOULD consider x-gzip to be equivalent to gzip" (§8.4.1.3)


def accepted_codings(values: list[bytes]) -> dict[bytes, int]:
    """Parse ``Accept-Encoding`` values into ``{coding: weight}``, weights in thousandths.

    Codings are lowercased; ``*`` is kept as a key.  A member with a malformed weight is dropped
    (it says nothing we can rely on).
    """
    weights: dict[bytes, int] = {}
    for value in values:
        for member in value.split(b","):
            coding, *params = member.split(b";")
            coding = coding.strip(_OWS).lower()
            weight = _weight(params)
            if coding and weight is not None:
                weights[_ALIASES.get(coding, coding)] = weight
    return weights


def _weight(params: list[bytes]) -> int | None:
    weight = 1000
    for param in params:
        name, _, value = param.strip(_OWS).partition(b"=")
        if name.lower() == b"q":
            if not _QVALUE.fullmatch(value):
                return None
            weight = round(float(value) * 1000)
    return weight


def choose_coding(available: list[bytes], accept_encoding: list[bytes]) -> bytes | None:
    """Return the coding among `available` (in server preference order) the client ranks highest.

    Args:
        available: content codings on offer, most preferred first.
        accept_encoding: the request's ``Accept-Encoding`` values; none means no coding.

    Returns:
        The coding with the highest weight above zero (``*`` stands for codings not named), ties
        going to the earlier one; None if the client accepts none of them.
    """
    weights = accepted_codings(accept_encoding)
    if not weights:
        return None
    wildcard = weights.get(b"*", 0)
    best, best_weight = None, 0
    for coding in available:
        weight = weights.get(coding, wildcard)
        if weight > best_weight:
            best, best_weight = coding, weight
    return best


def precompressed_variants(path: Path) -> list[tuple[Path, bytes]]:
    """Return the precompressed variants that exist beside `path`, as ``(path, coding)`` pairs.

    Only regular files count (not links, directories or missing names), in `PRECOMPRESSED` order.
    """
    variants = []
    for suffix, coding in PRECOMPRESSED:
        variant = path.parent / (path.name + suffix)
        try:
            mode = os.lstat(variant).st_mode
        except (OSError, ValueError):  # missing, unreadable directory, NUL in the name
            continue
        if stat.S_ISREG(mode):
            variants.append((variant, coding))
    return variants


def choose_precompressed(path: Path, accept_encoding: list[bytes]) -> tuple[Path, bytes] | None:
    """Return the precompressed variant of `path` to send and its coding, or None for `path`.

    Args:
        path: the file asked for.
        accept_encoding: the request's ``Accept-Encoding`` values.
    """
    variants = precompressed_variants(path)
    coding = choose_coding([coding for _, coding in variants], accept_encoding)
    if coding is None:
        return None
    return next(variant for variant in variants if variant[1] == coding)
