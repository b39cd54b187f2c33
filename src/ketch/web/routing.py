"""URL routing for ketch.web: aiohttp.web's ``UrlDispatcher`` interface over a segment trie.

Theory of operation
-------------------
Rule 1 (one decoding, both sides).  Request paths and route templates are compared in
*safe-decoded* form: every percent-escape is decoded except ``%2F`` and ``%25``, which stay encoded
(upper-cased), and a bare ``%`` becomes ``%25``.  An encoded slash therefore never splits a
segment, and the form is idempotent, so a sub-application may receive an already decoded rest.
Parameter values are matched in this form and finished (``%2F`` -> ``/``, ``%25`` -> ``%``) only
when they land in ``match_info``.  This is what aiohttp does with ``URL.path_safe``.

Rule 2 (plain paths are one dict lookup).  Resources without parameters live in a dict keyed by
path; each entry maps a method to a prebuilt `Match`, so a hit allocates nothing.

Rule 3 (parameters walk a trie, never a list).  Resources with parameters are split at ``/``.
Literal segments are dict children of a node; parameter segments (``{id}``, ``{id:\\d+}``,
``{name}.{ext}``) are edges tried in the order first registered at that node.  A parameter whose
pattern may match ``/`` (``{tail:.*}``, ``{p:path}``) ends the trie walk: the rest of the template
becomes one regex over the rest of the path, anchored at the node of its literal prefix, and so do
static-file prefixes and sub-applications.  At each node a literal child beats a parameter, and a
failed branch backtracks; a node is visited at most once per lookup.

Rule 4 (aiohttp's outcome).  The first resource whose path matches and which has a route for the
method (or a ``*`` route) wins.  A resource whose path matches without the method adds its methods
to the ``Allow`` set and the search goes on; a 405 is returned only when nothing matched.  Plain
paths are tried before the trie.  A sub-application whose prefix matches decides the outcome,
404 and 405 included (aiohttp does the same), so its middlewares see its own errors.
"""

from __future__ import annotations

import base64
import hashlib
import keyword
import re
import sys
import uuid
from collections.abc import (
    Awaitable,
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    Sequence,
    ValuesView,
)
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, overload
from urllib.parse import quote, unquote

from .._compiled import mypyc_attr

if TYPE_CHECKING:
    import os

__all__ = [
    "METH_ANY",
    "AbstractResource",
    "AbstractRoute",
    "AbstractRouteDef",
    "DynamicResource",
    "ExpectHandler",
    "Handler",
    "Match",
    "PlainResource",
    "PrefixResource",
    "PrefixedSubAppResource",
    "Resource",
    "ResourceRoute",
    "RouteDef",
    "RouteTableDef",
    "StaticDef",
    "StaticResource",
    "UrlDispatcher",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "route",
    "static",
    "view",
]

Handler = Callable[[Any], Awaitable[Any]]
ExpectHandler = Callable[[Any], Awaitable[Any]]

METH_ANY: Final = "*"
# RFC 9110 §5.6.2: method = token; tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
# "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
_METHOD_RE: Final = re.compile(r"[0-9A-Za-z!#$%&'*+\-.^_`|~]+")
# aiohttp's ROUTE_RE: "{name}" or "{name:regex}", the regex may hold one level of "{m,n}".
_PARAM_RE: Final = re.compile(r"\{([_a-zA-Z][^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_IDENT_RE: Final = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_NAME_SPLIT_RE: Final = re.compile(r"[.:-]")
_KEEP_ENCODED: Final = re.compile(r"(%2[fF5])")
_SLASHES: Final = re.compile(r"//+")
_LEADING_SLASHES: Final = re.compile(r"^//+")
_LOOKS_AROUND: Final = ("?=", "?!", "?<", "?(", "?P=")  # lookarounds, conditionals, backrefs
_DEFAULT: Final = r"[^{}/]+"
_UUID: Final = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Typed parameters: name -> (pattern, converter for Match.params, may span segments).
_TYPES: Final[dict[str, tuple[str, Callable[[str], Any] | None, bool]]] = {
    "str": (_DEFAULT, None, False),
    "int": (r"[0-9]+", int, False),
    "float": (r"[0-9]+(?:\.[0-9]+)?", float, False),
    "uuid": (_UUID, uuid.UUID, False),
    "path": (r".*", None, True),
}
_EMPTY: Final[Mapping[str, str]] = MappingProxyType({})


def _safe_decode(path: str) -> str:
    """Decode every percent-escape of `path` but ``%2F`` and ``%25`` (Rule 1)."""
    parts = _KEEP_ENCODED.split(path)
    for k in range(0, len(parts), 2):
        if "%" in parts[k]:
            parts[k] = unquote(parts[k]).replace("%", "%25")
    for k in range(1, len(parts), 2):
        parts[k] = parts[k].upper()
    return "".join(parts)


def _finish(value: str) -> str:
    """Turn a safe-decoded value into the fully decoded one."""
    if "%" not in value:
        return value
    return value.replace("%2F", "/").replace("%25", "%")


def _stays_in_segment(regex: str) -> bool:
    """True if `regex` can never match a ``/``; unsure answers are False (a slower tail match).

    Accepted: literals other than ``/`` and ``.``, escapes ``\\d \\w \\s`` and escaped punctuation,
    classes that hold no ``/`` (negated ones must hold it), groups, alternation and quantifiers.
    Rejected: ``.``, anchors, lookarounds, back-references and other escapes.
    """
    i, n = 0, len(regex)
    while i < n:
        ch = regex[i]
        if ch == "\\":
            nxt = regex[i + 1 : i + 2]
            if not nxt or nxt == "/" or (nxt.isalnum() and nxt not in "dws"):
                return False
            i += 2
        elif ch == "[":
            end, members = _class_members(regex, i + 1)
            if end < 0:
                return False
            if members[:1] == ["^"]:
                if "/" not in members and "\\/" not in members:
                    return False
            elif not _class_avoids_slash(members):
                return False
            i = end + 1
        elif ch in "./^$" or (ch == "(" and regex.startswith(_LOOKS_AROUND, i + 1)):
            return False
        else:
            i += 1
    return True


def _class_members(regex: str, i: int) -> tuple[int, list[str]]:
    """Split the character class opening before `i`; return (index of "]" or -1, members)."""
    members: list[str] = []
    if regex[i : i + 1] == "^":
        members.append("^")
        i += 1
    start = i
    while i < len(regex) and (regex[i] != "]" or i == start):
        step = 2 if regex[i] == "\\" else 1
        members.append(regex[i : i + step])
        i += step
    return (i if i < len(regex) else -1), members


def _class_avoids_slash(members: list[str]) -> bool:
    """True if a non-negated class made of `members` cannot match ``/``."""
    for k, member in enumerate(members):
        if member in ("/", "\\/") or (
            len(member) == 2 and member[1].isalnum() and member[1] not in "dws"
        ):
            return False
        if member == "-" and 0 < k < len(members) - 1:
            low, high = members[k - 1], members[k + 1]
            if len(low) != 1 or len(high) != 1 or ord(low) <= ord("/") <= ord(high):
                return False
    return True


@dataclass(frozen=True, slots=True)
class _Param:
    """One ``{name}``/``{name:spec}`` of a template."""

    name: str
    source: str  # the text between the braces
    pattern: str
    regex: re.Pattern[str]  # `pattern`, compiled alone, for url_for's check
    convert: Callable[[str], Any] | None
    spans: bool  # may match "/", so it cannot be matched one segment at a time


_Token = str | _Param  # a literal (safe-decoded) or a parameter


def _parse(path: str) -> list[_Token]:
    """Split a route template into literals and parameters, checking both."""
    tokens: list[_Token] = []
    names: set[str] = set()
    for k, part in enumerate(_PARAM_RE.split(path)):
        if k % 2 == 0:
            if "{" in part or "}" in part:
                raise ValueError(f"Invalid path {path!r}: unbalanced brace in {part!r}")
            if part:
                tokens.append(_safe_decode(part))
            continue
        name, colon, spec = part.partition(":")
        if not _IDENT_RE.fullmatch(name):
            raise ValueError(f"Invalid path {path!r}: bad parameter name {name!r}")
        if name in names:
            raise ValueError(f"Invalid path {path!r}: duplicate parameter {name!r}")
        names.add(name)
        if not colon:
            spec = "str"
        if spec in _TYPES:
            pattern, convert, spans = _TYPES[spec]
        else:
            pattern, convert, spans = spec, None, not _stays_in_segment(spec)
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ValueError(
                f"Bad pattern {spec!r} for {{{name}}} in path {path!r}: {exc}"
            ) from None
        tokens.append(_Param(name, part, pattern, regex, convert, spans))
    return tokens


def _regex_of(tokens: Iterable[_Token], names: list[str]) -> str:
    """Regex source for `tokens`; each parameter becomes group ``_<k>`` (k = len(names))."""
    out = []
    for tok in tokens:
        if isinstance(tok, str):
            out.append(re.escape(tok))
        else:
            out.append(f"(?P<_{len(names)}>{tok.pattern})")
            names.append(tok.name)
    return "".join(out)


def _compile(source: str, path: str) -> re.Pattern[str]:
    """Compile the combined regex of a route, naming the route on failure."""
    try:
        return re.compile(source)
    except re.error as exc:
        raise ValueError(f"Bad pattern in path {path!r}: {exc}") from None


def _group_ids(regex: re.Pattern[str] | None, start: int, stop: int) -> tuple[int, ...]:
    """The numbers of groups ``_<start>`` to ``_<stop - 1>`` made by `_regex_of`."""
    assert regex is not None
    return tuple(regex.groupindex[f"_{k}"] for k in range(start, stop))


def _check_name(name: str | None) -> None:
    if name is None:
        return
    for part in _NAME_SPLIT_RE.split(name):
        if keyword.iskeyword(part) or not part.isidentifier():
            raise ValueError(
                f"Incorrect route name {name!r}: use Python identifiers (not keywords) "
                "separated by '.', ':' or '-'"
            )


def _check_prefix(prefix: str, *, allow_root: bool) -> str:
    if not prefix.startswith("/"):
        raise ValueError(f"Prefix {prefix!r} must start with '/'")
    if "{" in prefix or "}" in prefix:
        raise ValueError(f"Prefix {prefix!r} cannot hold parameters")
    prefix = prefix.rstrip("/")
    if not prefix and not allow_root:
        raise ValueError("Prefix cannot be empty")
    return prefix


class Match:
    """The outcome of `UrlDispatcher.resolve`.

    Matches may be shared between requests (plain routes return a prebuilt one): treat every field
    as read-only.  `match_info` is a read-only mapping of URL-decoded values (always ``str``, as in
    aiohttp); typed values are in `params`.

    Attributes:
        status: 200 on a match, 404 when no resource matched the path, 405 when some did but none
            has a route for the method.
        handler: The route's handler (a view class when ``route.is_view``); None for a static-file
            route and for 404/405.
        route: The matched route, or None for 404/405.
        match_info: Parameter values, URL-decoded (``%2F`` included); ``filename`` for a static
            resource.  Empty and shared for plain routes.
        allowed: The methods the path accepts (the ``Allow`` header of a 405), HEAD included when
            GET was added with ``allow_head``, ``*`` on a 200 from a resource with a ``*`` route;
            empty for 404.
        apps: The sub-applications crossed, outermost first; the app owning the router is not
            included.  Also set on a 404/405 decided inside a sub-application.
        resource: The matched resource, or None.
    """

    __slots__ = ("allowed", "apps", "handler", "match_info", "resource", "route", "status")

    # A plain __init__, not a dataclass's: the compiled build would run that one interpreted,
    # and dynamic routes make a Match per request.
    def __init__(
        self,
        status: int,
        handler: Handler | None,
        route: AbstractRoute | None,
        match_info: Mapping[str, str],
        allowed: frozenset[str],
        apps: tuple[Any, ...],
        resource: AbstractResource | None,
    ) -> None:
        self.status = status
        self.handler = handler
        self.route = route
        self.match_info = match_info
        self.allowed = allowed
        self.apps = apps
        self.resource = resource

    def __repr__(self) -> str:
        return f"<Match {self.status} {self.route!r} {dict(self.match_info)!r}>"

    @property
    def params(self) -> Mapping[str, Any]:
        """`match_info` with typed values converted: int for ``:int``, float, `uuid.UUID`.

        Computed on each access; the same mapping as `match_info` when nothing is typed.
        """
        resource = self.resource
        if isinstance(resource, DynamicResource) and resource._converters:
            info = dict(self.match_info)
            for name, convert in resource._converters.items():
                info[name] = convert(info[name])
            return info
        return self.match_info


_NOT_FOUND: Final = Match(404, None, None, _EMPTY, frozenset(), (), None)


@mypyc_attr(allow_interpreted_subclasses=True)
class AbstractRoute:
    """One (method, handler) pair on a resource.

    Attributes:
        method: Upper-case method, or ``"*"`` for any method.
        handler: The handler; None on a static-file route (the app serves the file).
        resource: The owning resource.
        expect_handler: Called for ``Expect: 100-continue``; None means the app's default.
        is_view: True when the handler is a class (a class-based view instantiated per request).
    """

    __slots__ = ("expect_handler", "handler", "is_view", "method", "resource")

    def __init__(
        self,
        method: str,
        handler: Handler | None,
        resource: AbstractResource | None,
        *,
        expect_handler: ExpectHandler | None = None,
    ) -> None:
        if method != METH_ANY and not _METHOD_RE.fullmatch(method):
            raise ValueError(f"{method!r} is not a valid HTTP method")
        self.method = method.upper()
        self.handler = handler
        self.resource = resource
        self.expect_handler = expect_handler
        self.is_view = isinstance(handler, type)

    @property
    def name(self) -> str | None:
        """The resource's name."""
        return None if self.resource is None else self.resource.name

    def url_for(self, **parts: Any) -> str:
        """Build the resource's URL path; see `AbstractResource.url_for`."""
        if self.resource is None:
            raise RuntimeError("This route has no resource")
        return self.resource.url_for(**parts)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method} {self.resource!r} -> {self.handler!r}>"


@mypyc_attr(allow_interpreted_subclasses=True)
class ResourceRoute(AbstractRoute):
    """A route registered on a resource."""

    __slots__ = ()


@mypyc_attr(allow_interpreted_subclasses=True)
class AbstractResource:
    """A path (or prefix) with routes.

    Attributes:
        name: Name for ``router[name]`` and ``url_for``, or None.
    """

    def __init__(self, *, name: str | None = None) -> None:
        self.name = name
        self._url_prefix = ""  # the mount prefixes; affects canonical/url_for only
        self._routes: dict[str, ResourceRoute] = {}
        self._any: ResourceRoute | None = None
        self._allowed: frozenset[str] = frozenset()
        self._router: UrlDispatcher | None = None

    @property
    def canonical(self) -> str:
        """The path pattern with mount prefixes, parameters as ``{name}`` (aiohttp's form)."""
        raise NotImplementedError

    def url_for(self, **parts: Any) -> str:
        """Build this resource's percent-encoded URL path, mount prefixes included.

        Raises:
            KeyError: A parameter is missing.
            ValueError: An unknown part was given, or a value does not match its pattern.
        """
        raise NotImplementedError

    def add_prefix(self, prefix: str) -> None:
        """Prepend a mount prefix (``"/admin"``) to `canonical` and `url_for`, not to matching."""
        self._url_prefix = prefix + self._url_prefix

    def __len__(self) -> int:
        return len(self._routes)

    def __iter__(self) -> Iterator[ResourceRoute]:
        return iter(self._routes.values())

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name is not None else ""
        return f"<{type(self).__name__}{name} {self.canonical}>"


@mypyc_attr(allow_interpreted_subclasses=True)
class Resource(AbstractResource):
    """A resource whose routes are added one method at a time."""

    def add_route(
        self, method: str, handler: Handler, *, expect_handler: ExpectHandler | None = None
    ) -> ResourceRoute:
        """Add a route for `method` (``"*"`` for any method, upper-cased otherwise).

        Raises:
            ValueError: `method` is not an HTTP token.
            RuntimeError: The method (or ``*``) is already registered, or the router is frozen.
        """
        route = ResourceRoute(method, handler, self, expect_handler=expect_handler)
        existing = self._routes.get(route.method, self._any)
        if existing is not None:
            raise RuntimeError(
                "Added route will never be executed, "
                f"method {existing.method} is already registered"
            )
        if self._router is not None:
            self._router._check_not_frozen()
        self._routes[route.method] = route
        if route.method == METH_ANY:
            self._any = route
        self._allowed = frozenset(self._routes)
        if self._router is not None:
            self._router._routes_changed(self)
        return route


@mypyc_attr(allow_interpreted_subclasses=True)
class PlainResource(Resource):
    """A path without parameters, matched by one dict lookup."""

    def __init__(self, path: str, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._path = _safe_decode(path)

    @property
    def canonical(self) -> str:
        return self._url_prefix + self._path

    def url_for(self, **parts: Any) -> str:
        if parts:
            raise ValueError(f"Unknown parts {sorted(parts)} for {self.canonical!r}")
        return quote(self._url_prefix + self._path, safe="/%")


@mypyc_attr(allow_interpreted_subclasses=True)
class DynamicResource(Resource):
    """A path with parameters: ``/users/{id}``, ``/v{n:\\d+}``, ``/files/{name}.{ext}``."""

    def __init__(self, path: str, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._path = path
        self._tokens = _parse(path)
        params = [t for t in self._tokens if isinstance(t, _Param)]
        self._params = {p.name: p for p in params}
        self._names = tuple(self._params)
        self._converters = {p.name: p.convert for p in params if p.convert is not None}
        # Rule 3: split at "/"; the segments before the first spanning parameter go in the trie.
        segments: list[list[_Token]] = [[]]
        for tok in self._tokens:
            if isinstance(tok, _Param):
                segments[-1].append(tok)
                continue
            first, *others = tok.split("/")
            if first:
                segments[-1].append(first)
            segments.extend([part] if part else [] for part in others)
        segments = segments[1:]  # the empty text before the leading "/"
        cut = next(
            (
                k
                for k, seg in enumerate(segments)
                if any(isinstance(t, _Param) and t.spans for t in seg)
            ),
            len(segments),
        )
        self._segments = segments[:cut]
        self._tail = segments[cut:]

    @property
    def canonical(self) -> str:
        body = "".join(t if isinstance(t, str) else "{" + t.name + "}" for t in self._tokens)
        return self._url_prefix + body

    def url_for(self, **parts: Any) -> str:
        extra = parts.keys() - self._params.keys()
        if extra:
            raise ValueError(f"Unknown parts {sorted(extra)} for {self.canonical!r}")
        out = [quote(self._url_prefix, safe="/%")]
        for tok in self._tokens:
            if isinstance(tok, str):
                out.append(quote(tok, safe="/%"))
                continue
            value = str(parts[tok.name])
            safe = value.replace("%", "%25")  # what the router will see once it decodes the URL
            if tok.spans and tok.regex.fullmatch(safe):
                out.append(quote(value, safe="/"))
            elif tok.regex.fullmatch(safe.replace("/", "%2F")):
                out.append(quote(value, safe=""))
            else:
                raise ValueError(
                    f"Value {value!r} of {{{tok.name}}} does not match {tok.pattern!r} "
                    f"in {self.canonical!r}"
                )
        return "".join(out)


@mypyc_attr(allow_interpreted_subclasses=True)
class PrefixResource(AbstractResource):
    """A resource matching every path under a literal prefix."""

    def __init__(self, prefix: str, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._prefix = _safe_decode(prefix)

    @property
    def canonical(self) -> str:
        return self._url_prefix + self._prefix


@mypyc_attr(allow_interpreted_subclasses=True)
class StaticResource(PrefixResource):
    """Files under `directory`, served at ``prefix/<filename>``.

    The router only matches: ``match_info["filename"]`` is the URL-decoded rest of the path after
    ``prefix/`` ("" for the prefix itself).  It may contain ``..``, ``/`` (from ``%2F``), a leading
    ``/``, NUL or a drive letter: the app's file resolver must refuse what escapes `directory`.
    The routes are GET and HEAD (and OPTIONS via `set_options_route`) with ``handler=None``.

    Attributes:
        directory: The resolved directory.
        show_index, follow_symlinks, append_version: As given to `UrlDispatcher.add_static`.
        options: Further keyword arguments of ``add_static`` (such as ``chunk_size``).
    """

    VERSION_KEY: Final = "v"

    def __init__(
        self,
        prefix: str,
        directory: str | os.PathLike[str],
        *,
        name: str | None = None,
        expect_handler: ExpectHandler | None = None,
        show_index: bool = False,
        follow_symlinks: bool = False,
        append_version: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(prefix, name=name)
        try:
            resolved = Path(directory).expanduser().resolve(strict=True)
        except FileNotFoundError as error:
            raise ValueError(f"Static directory {str(directory)!r} does not exist") from error
        if not resolved.is_dir():
            raise ValueError(f"Static path {str(directory)!r} is not a directory")
        self.directory = resolved
        self.show_index = show_index
        self.follow_symlinks = follow_symlinks
        self.append_version = append_version
        self.options = options
        for method in ("GET", "HEAD"):
            self._routes[method] = ResourceRoute(method, None, self, expect_handler=expect_handler)
        self._allowed = frozenset(self._routes)

    def set_options_route(self, handler: Handler) -> None:
        """Answer OPTIONS under the prefix with `handler` (CORS preflight)."""
        if "OPTIONS" in self._routes:
            raise RuntimeError("OPTIONS route was set already")
        self._routes["OPTIONS"] = ResourceRoute("OPTIONS", handler, self)
        self._allowed = frozenset(self._routes)

    def url_for(  # type: ignore[override]  # aiohttp's signature: one file, not path parts
        self, *, filename: str | os.PathLike[str], append_version: bool | None = None
    ) -> str:
        """Build ``prefix/filename``, with ``?v=<sha256>`` when versioning and the file exists."""
        name = str(filename).lstrip("/")
        url = quote(self.canonical, safe="/%") + "/" + quote(name, safe="/")
        if not (self.append_version if append_version is None else append_version):
            return url
        try:
            path = (self.directory / name).resolve()
            path.relative_to(self.directory)
            data = path.read_bytes()
        except (ValueError, OSError):
            return url  # outside the directory, missing or unreadable: no version
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode("ascii")
        return f"{url}?{self.VERSION_KEY}={digest}"


@mypyc_attr(allow_interpreted_subclasses=True)
class PrefixedSubAppResource(PrefixResource):
    """A sub-application mounted at a prefix; ``app.router`` must be a `UrlDispatcher`."""

    def __init__(self, prefix: str, app: Any) -> None:
        super().__init__(prefix)
        if not isinstance(getattr(app, "router", None), UrlDispatcher):
            raise TypeError(f"{app!r} has no UrlDispatcher at .router")
        self.app = app

    def add_prefix(self, prefix: str) -> None:
        super().add_prefix(prefix)
        self.app.router._add_url_prefix(prefix)

    def url_for(self, **parts: Any) -> str:
        raise RuntimeError(".url_for() is not supported by sub-application root")

    def __len__(self) -> int:
        return len(self.app.router.routes())

    def __iter__(self) -> Iterator[ResourceRoute]:
        return iter(self.app.router.routes())


class _MethodTable(dict[str, Match | None]):
    """Method -> prebuilt Match for one plain path; a miss gives the ``*`` route's Match."""

    __slots__ = ("allowed", "any")

    def __init__(self) -> None:
        super().__init__()
        self.any: Match | None = None
        self.allowed: frozenset[str] = frozenset()

    def __missing__(self, method: str) -> Match | None:
        return self.any


class _Node:
    __slots__ = ("dynamic", "resources", "static")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.dynamic: list[_Edge] = []
        self.resources: list[DynamicResource] = []


_SEGMENT, _TAIL, _STATIC, _SUBAPP = range(4)


class _Edge:
    """A non-literal way out of a node: one parameter segment, or a matcher of the rest."""

    __slots__ = ("child", "groups", "key", "kind", "regex", "resources", "target")

    def __init__(self, kind: int, key: str = "", regex: re.Pattern[str] | None = None) -> None:
        self.kind = kind
        self.key = key
        self.regex = regex  # None on a _SEGMENT edge: one "{name}" with the default pattern
        self.groups: tuple[int, ...] = ()  # the regex groups of the parameters, in order
        self.child = _Node()
        self.resources: list[DynamicResource] = []
        self.target: Any = None


@mypyc_attr(allow_interpreted_subclasses=True)
class UrlDispatcher:
    """The router (``app.router``): a read-only mapping of route names to resources.

    A `Mapping` by registration, its methods written out: an ABC base would make this compiled
    class share the ABC's cache (``isinstance({}, UrlDispatcher)`` would be true).
    """

    def __init__(self) -> None:
        self._resources: list[AbstractResource] = []
        self._named: dict[str, AbstractResource] = {}
        self._plain: dict[str, _MethodTable] = {}
        self._plain_resources: dict[str, list[PlainResource]] = {}
        self._root = _Node()
        self._frozen = False
        self._url_prefix = ""

    # -- the Mapping of names (aiohttp) --------------------------------------------------------

    def __getitem__(self, name: str) -> AbstractResource:
        return self._named[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._named)

    def __len__(self) -> int:
        return len(self._named)

    def __contains__(self, name: object) -> bool:
        return name in self._named

    def get(self, name: str, default: AbstractResource | None = None) -> AbstractResource | None:
        return self._named.get(name, default)

    def keys(self) -> KeysView[str]:
        return self._named.keys()

    def values(self) -> ValuesView[AbstractResource]:
        return self._named.values()

    def items(self) -> ItemsView[str, AbstractResource]:
        return self._named.items()

    def named_resources(self) -> Mapping[str, AbstractResource]:
        """A read-only view of the named resources."""
        return MappingProxyType(self._named)

    def resources(self) -> list[AbstractResource]:
        """The resources, in registration order (a copy)."""
        return list(self._resources)

    def routes(self) -> list[AbstractRoute]:
        """Every route, sub-applications' included, in registration order."""
        return [route for resource in self._resources for route in resource]

    # -- registration ---------------------------------------------------------------------------

    @property
    def frozen(self) -> bool:
        """True once `freeze` was called."""
        return self._frozen

    def freeze(self) -> None:
        """Refuse further registration (the app calls this when it starts)."""
        self._frozen = True

    def _check_not_frozen(self) -> None:
        if self._frozen:
            raise RuntimeError("Cannot register a resource into frozen router")

    def _register(self, resource: AbstractResource) -> None:
        self._check_not_frozen()
        _check_name(resource.name)
        if resource.name is not None:
            if resource.name in self._named:
                raise ValueError(
                    f"Duplicate route name {resource.name!r}, "
                    f"already used by {self._named[resource.name]!r}"
                )
            self._named[resource.name] = resource
        resource._router = self
        if self._url_prefix:
            resource.add_prefix(self._url_prefix)
        self._resources.append(resource)

    def _node_for(self, prefix: str) -> _Node:
        node = self._root
        for segment in prefix.split("/")[1:]:
            node = node.static.setdefault(segment, _Node())
        return node

    def add_resource(self, path: str, *, name: str | None = None) -> Resource:
        """Return the resource for `path`, creating it unless the same path was added already.

        Args:
            path: ``/``-rooted template; ``""`` is a sub-application's own prefix.
            name: Optional route name (identifiers joined by ``.``, ``:`` or ``-``).

        Returns:
            The existing resource with this template and a compatible name (None or equal), or a
            new `PlainResource`/`DynamicResource`.

        Raises:
            ValueError: Bad path, pattern or name, or a duplicate name.
            RuntimeError: The router is frozen.
        """
        if path and not path.startswith("/"):
            raise ValueError(f"Path {path!r} must start with '/' (or be empty in a sub-app)")
        self._check_not_frozen()
        if "{" not in path and "}" not in path:
            plain = PlainResource(path, name=name)
            same = self._plain_resources.setdefault(plain._path, [])
            if same and name in (None, same[-1].name):
                return same[-1]
            self._register(plain)
            same.append(plain)
            return plain
        dynamic = DynamicResource(path, name=name)
        leaf = self._leaf_for(dynamic)
        if leaf and leaf[-1]._path == path and name in (None, leaf[-1].name):
            return leaf[-1]
        self._register(dynamic)
        leaf.append(dynamic)
        return dynamic

    def _leaf_for(self, resource: DynamicResource) -> list[DynamicResource]:
        node = self._root
        for segment in resource._segments:
            if all(isinstance(t, str) for t in segment):
                node = node.static.setdefault("".join(map(str, segment)), _Node())
                continue
            key = "".join(t if isinstance(t, str) else "{" + t.source + "}" for t in segment)
            edge = next((e for e in node.dynamic if e.kind == _SEGMENT and e.key == key), None)
            if edge is None:
                if (
                    len(segment) == 1
                    and isinstance(p := segment[0], _Param)
                    and p.pattern == _DEFAULT
                ):
                    edge = _Edge(_SEGMENT, key)
                else:
                    names: list[str] = []
                    edge = _Edge(_SEGMENT, key, _compile(_regex_of(segment, names), resource._path))
                    edge.groups = _group_ids(edge.regex, 0, len(names))
                node.dynamic.append(edge)
            node = edge.child
        if not resource._tail:
            return node.resources
        key = "".join("/" + _regex_of(seg, []) for seg in resource._tail)
        tail = next((e for e in node.dynamic if e.kind == _TAIL and e.key == key), None)
        if tail is None:
            before = [t for seg in resource._segments for t in seg if isinstance(t, _Param)]
            names = [p.name for p in before]
            source = "".join("/" + _regex_of(seg, names) for seg in resource._tail)
            tail = _Edge(_TAIL, key, _compile(source, resource._path))
            tail.groups = _group_ids(tail.regex, len(before), len(names))
            node.dynamic.append(tail)
        return tail.resources

    def _routes_changed(self, resource: Resource) -> None:
        if isinstance(resource, PlainResource):
            self._plain[resource._path] = self._method_table(self._plain_resources[resource._path])

    @staticmethod
    def _method_table(resources: list[PlainResource]) -> _MethodTable:
        table = _MethodTable()
        for resource in resources:
            for method, route in resource._routes.items():
                if table.any is None and method not in table:
                    table[method] = Match(
                        200, route.handler, route, _EMPTY, resource._allowed, (), resource
                    )
            any_match = table.pop(METH_ANY, None)  # only stored while table.any was None
            if any_match is not None:
                table.any = any_match
            table.allowed |= resource._allowed
        return table

    def add_route(
        self,
        method: str,
        path: str,
        handler: Handler,
        *,
        name: str | None = None,
        expect_handler: ExpectHandler | None = None,
    ) -> ResourceRoute:
        """Add `handler` for `method` (``"*"``: any) at `path`; see `add_resource`."""
        resource = self.add_resource(path, name=name)
        return resource.add_route(method, handler, expect_handler=expect_handler)

    def add_get(
        self,
        path: str,
        handler: Handler,
        *,
        name: str | None = None,
        allow_head: bool = True,
        **kwargs: Any,
    ) -> ResourceRoute:
        """Add a GET route; with `allow_head`, also a HEAD route to the same handler."""
        resource = self.add_resource(path, name=name)
        if allow_head:
            resource.add_route("HEAD", handler, **kwargs)
        return resource.add_route("GET", handler, **kwargs)

    def add_head(self, path: str, handler: Handler, **kwargs: Any) -> ResourceRoute:
        """Add a HEAD route."""
        return self.add_route("HEAD", path, handler, **kwargs)

    def add_post(self, path: str, handler: Handler, **kwargs: Any) -> ResourceRoute:
        """Add a POST route."""
        return self.add_route("POST", path, handler, **kwargs)

    def add_put(self, path: str, handler: Handler, **kwargs: Any) -> ResourceRoute:
        """Add a PUT route."""
        return self.add_route("PUT", path, handler, **kwargs)

    def add_patch(self, path: str, handler: Handler, **kwargs: Any) -> ResourceRoute:
        """Add a PATCH route."""
        return self.add_route("PATCH", path, handler, **kwargs)

    def add_delete(self, path: str, handler: Handler, **kwargs: Any) -> ResourceRoute:
        """Add a DELETE route."""
        return self.add_route("DELETE", path, handler, **kwargs)

    def add_options(self, path: str, handler: Handler, **kwargs: Any) -> ResourceRoute:
        """Add an OPTIONS route."""
        return self.add_route("OPTIONS", path, handler, **kwargs)

    def add_view(self, path: str, view_cls: type[Any], **kwargs: Any) -> ResourceRoute:
        """Add a class-based view for every method; the route has ``is_view=True``.

        Raises:
            TypeError: `view_cls` is not a class.
        """
        if not isinstance(view_cls, type):
            raise TypeError(f"View {view_cls!r} must be a class")
        return self.add_route(METH_ANY, path, view_cls, **kwargs)

    def add_static(
        self,
        prefix: str,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        **kwargs: Any,
    ) -> StaticResource:
        """Serve the files under directory `path` at `prefix` (see `StaticResource`).

        Keyword arguments (``show_index``, ``follow_symlinks``, ``append_version``,
        ``expect_handler``, others kept in ``options``) go to `StaticResource`.  The app
        recognizes a static match by ``isinstance(match.resource, StaticResource)``.

        Raises:
            ValueError: Bad prefix, or `path` is not an existing directory.
        """
        prefix = _check_prefix(prefix, allow_root=True)
        self._check_not_frozen()
        resource = StaticResource(prefix, path, name=name, **kwargs)
        self._attach(resource, _STATIC)
        return resource

    def add_subapp_resource(self, prefix: str, app: Any) -> PrefixedSubAppResource:
        """Mount `app` (whose ``.router`` is a `UrlDispatcher`) at `prefix`.

        Paths under `prefix` resolve in ``app.router`` with the prefix stripped; the `Match`
        records `app` in ``apps``.  The app's resources get the prefix for ``url_for``.

        Raises:
            ValueError: Empty or bad prefix.
            TypeError: `app` has no `UrlDispatcher` router.
        """
        prefix = _check_prefix(prefix, allow_root=False)
        self._check_not_frozen()
        resource = PrefixedSubAppResource(prefix, app)
        app.router._add_url_prefix(resource._prefix)
        self._attach(resource, _SUBAPP)
        return resource

    def _attach(self, resource: PrefixResource, kind: int) -> None:
        self._register(resource)
        edge = _Edge(kind)
        edge.target = resource
        self._node_for(resource._prefix).dynamic.append(edge)

    def _add_url_prefix(self, prefix: str) -> None:
        self._url_prefix = prefix + self._url_prefix
        for resource in self._resources:
            resource.add_prefix(prefix)

    def add_routes(self, routes: Iterable[AbstractRouteDef]) -> list[AbstractRoute]:
        """Register route definitions (a `RouteTableDef`, or `get(...)`, `static(...)`...)."""
        return [route for route_def in routes for route in route_def.register(self)]

    # -- resolution -----------------------------------------------------------------------------

    def resolve(self, method: str, path: str) -> Match:
        """Find the route for a request.

        Args:
            method: The request method, compared case-sensitively (RFC 9110 §9.1).
            path: The raw, percent-encoded path without the query.  Anything not starting with
                ``/`` gives 404.

        Returns:
            A `Match`: 200, 404 or 405 with the allowed methods.  Never raises for any input.
        """
        key = path if "%" not in path else _safe_decode(path)
        table = self._plain.get(key)
        if table is not None:
            match = table[method]
            if match is not None:
                return match
        return self._resolve_dynamic(method, key, table)

    def _resolve_dynamic(self, method: str, key: str, table: _MethodTable | None) -> Match:
        segments = key.split("/")
        if segments[0]:
            return _NOT_FOUND
        allowed = set(table.allowed) if table is not None else set()
        match = self._walk(self._root, segments, 1, method, [], allowed)
        if match is not None:
            return match
        if allowed:
            return Match(405, None, None, _EMPTY, frozenset(allowed), (), None)
        return _NOT_FOUND

    def _walk(
        self,
        node: _Node,
        segments: list[str],
        i: int,
        method: str,
        values: list[str],
        allowed: set[str],
    ) -> Match | None:
        """Depth-first search from `node` at segment `i` (Rule 3).

        Literal children are followed in a loop; the nodes passed that have other edges are
        revisited, deepest first, when the literal branch fails.  Only parameter edges recurse.
        """
        n = len(segments)
        trail: list[tuple[_Node, int]] | None = None
        while i < n:
            child = node.static.get(segments[i])
            if child is None:
                break
            if node.dynamic:
                if trail is None:
                    trail = []
                trail.append((node, i))
            node = child
            i += 1
        if i == n and node.resources:
            match = self._pick(node.resources, method, values, allowed)
            if match is not None:
                return match
        while True:
            for edge in node.dynamic:
                kind = edge.kind
                if kind == _SEGMENT:
                    if i == n:
                        continue
                    segment = segments[i]
                    depth = len(values)
                    if edge.regex is None:
                        if not segment or "{" in segment or "}" in segment:
                            continue
                        values.append(segment)
                    else:
                        found = edge.regex.fullmatch(segment)
                        if found is None:
                            continue
                        groups = edge.groups
                        if len(groups) == 1:
                            values.append(found[groups[0]])
                        else:
                            values.extend(found.group(*groups))
                    match = self._walk(edge.child, segments, i + 1, method, values, allowed)
                    if match is not None:
                        return match
                    del values[depth:]
                    continue
                rest = "/" + "/".join(segments[i:]) if i < n else ""
                if kind == _TAIL:
                    assert edge.regex is not None
                    found = edge.regex.fullmatch(rest)
                    if found is not None:
                        tail_values = values + [found[g] for g in edge.groups]
                        match = self._pick(edge.resources, method, tail_values, allowed)
                        if match is not None:
                            return match
                elif kind == _STATIC:
                    static: StaticResource = edge.target
                    route = static._routes.get(method)
                    if route is None:
                        allowed |= static._allowed
                        continue
                    info = {"filename": _finish(rest[1:])}
                    return Match(200, route.handler, route, info, static._allowed, (), static)
                else:  # _SUBAPP: its verdict is final (Rule 4)
                    app = edge.target.app
                    router: UrlDispatcher = app.router
                    inner = router.resolve(method, rest)
                    return Match(
                        inner.status,
                        inner.handler,
                        inner.route,
                        inner.match_info,
                        inner.allowed,
                        (app, *inner.apps),
                        inner.resource,
                    )
            if not trail:
                return None
            node, i = trail.pop()

    @staticmethod
    def _pick(
        resources: list[DynamicResource], method: str, values: list[str], allowed: set[str]
    ) -> Match | None:
        for resource in resources:
            route = resource._routes.get(method) or resource._any
            if route is not None:
                info = dict(zip(resource._names, values))  # noqa: B905 (equal by construction)
                if "%" in "".join(values):
                    info = {name: _finish(value) for name, value in info.items()}
                return Match(200, route.handler, route, info, resource._allowed, (), resource)
            allowed |= resource._allowed
        return None

    def resolve_alternative(
        self,
        method: str,
        path: str,
        *,
        append_slash: bool = True,
        remove_slash: bool = True,
        merge_slashes: bool = False,
    ) -> str | None:
        """The first variant of `path` that resolves to a route (status 200), or None.

        The variants, in aiohttp ``normalize_path_middleware``'s order: `path` with runs of
        slashes merged; with a trailing slash added (if it has none) or removed (if it has one);
        merged and then slash added/removed.  A leading run of slashes always becomes one ``/``,
        so the result is never a protocol-relative ``//host`` redirect target.  `path` itself is
        not tried.
        """
        candidates = []
        merged = _SLASHES.sub("/", path)
        if merge_slashes:
            candidates.append(merged)
        if path.endswith("/"):
            if remove_slash:
                candidates.append(path[:-1])
                if merge_slashes:
                    candidates.append(merged[:-1])
        elif append_slash:
            candidates.append(path + "/")
            if merge_slashes:
                candidates.append(merged + "/")
        for candidate in candidates:
            candidate = _LEADING_SLASHES.sub("/", candidate)
            if candidate != path and candidate and self.resolve(method, candidate).status == 200:
                return candidate
        return None


# -- route definitions (aiohttp.web_routedef) -------------------------------------------------


@mypyc_attr(allow_interpreted_subclasses=True)
class AbstractRouteDef:
    """Something `UrlDispatcher.add_routes` can register."""

    __slots__ = ()

    def register(self, router: UrlDispatcher) -> list[AbstractRoute]:
        """Add this definition to `router`; return the routes made."""
        raise NotImplementedError


@mypyc_attr(allow_interpreted_subclasses=True)
@dataclass(frozen=True, slots=True)
class RouteDef(AbstractRouteDef):
    """``router.add_<method>(path, handler, **kwargs)``, deferred."""

    method: str
    path: str
    handler: Handler
    kwargs: dict[str, Any]

    def register(self, router: UrlDispatcher) -> list[AbstractRoute]:
        if self.method.upper() == "GET":  # add_get understands allow_head
            return [router.add_get(self.path, self.handler, **self.kwargs)]
        return [router.add_route(self.method, self.path, self.handler, **self.kwargs)]


@mypyc_attr(allow_interpreted_subclasses=True)
@dataclass(frozen=True, slots=True)
class StaticDef(AbstractRouteDef):
    """``router.add_static(prefix, path, **kwargs)``, deferred."""

    prefix: str
    path: str | os.PathLike[str]
    kwargs: dict[str, Any]

    def register(self, router: UrlDispatcher) -> list[AbstractRoute]:
        return list(router.add_static(self.prefix, self.path, **self.kwargs))


def route(method: str, path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    """A route definition for `method` (``"*"``: any)."""
    return RouteDef(method, path, handler, kwargs)


def get(
    path: str, handler: Handler, *, name: str | None = None, allow_head: bool = True, **kwargs: Any
) -> RouteDef:
    """A GET route definition (with HEAD unless ``allow_head=False``)."""
    return RouteDef("GET", path, handler, {"name": name, "allow_head": allow_head, **kwargs})


def head(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    """A HEAD route definition."""
    return RouteDef("HEAD", path, handler, kwargs)


def post(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    """A POST route definition."""
    return RouteDef("POST", path, handler, kwargs)


def put(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    """A PUT route definition."""
    return RouteDef("PUT", path, handler, kwargs)


def patch(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    """A PATCH route definition."""
    return RouteDef("PATCH", path, handler, kwargs)


def delete(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    """A DELETE route definition."""
    return RouteDef("DELETE", path, handler, kwargs)


def options(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    """An OPTIONS route definition."""
    return RouteDef("OPTIONS", path, handler, kwargs)


def view(path: str, view_cls: type[Any], **kwargs: Any) -> RouteDef:
    """A class-based view definition (every method)."""
    return RouteDef(METH_ANY, path, view_cls, kwargs)


def static(prefix: str, path: str | os.PathLike[str], **kwargs: Any) -> StaticDef:
    """A static-files definition."""
    return StaticDef(prefix, path, kwargs)


_Decorated = Any  # a handler function or a view class, returned unchanged


@mypyc_attr(allow_interpreted_subclasses=True)
class RouteTableDef:
    """A list of route definitions filled by decorators: ``@routes.get("/")``.

    A `Sequence` by registration, its methods written out (see `UrlDispatcher`).
    """

    def __init__(self) -> None:
        self._items: list[AbstractRouteDef] = []

    @overload
    def __getitem__(self, index: int) -> AbstractRouteDef: ...
    @overload
    def __getitem__(self, index: slice) -> list[AbstractRouteDef]: ...
    def __getitem__(self, index: int | slice) -> AbstractRouteDef | list[AbstractRouteDef]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[AbstractRouteDef]:
        return iter(self._items)

    def __reversed__(self) -> Iterator[AbstractRouteDef]:
        return reversed(self._items)

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def index(self, item: AbstractRouteDef, start: int = 0, stop: int = sys.maxsize) -> int:
        return self._items.index(item, start, stop)

    def count(self, item: AbstractRouteDef) -> int:
        return self._items.count(item)

    def __repr__(self) -> str:
        return f"<RouteTableDef count={len(self._items)}>"

    def route(self, method: str, path: str, **kwargs: Any) -> Callable[[_Decorated], _Decorated]:
        """Decorator: add the decorated handler for `method` at `path`."""

        def register(handler: _Decorated) -> _Decorated:
            self._items.append(RouteDef(method, path, handler, kwargs))
            return handler

        return register

    def get(self, path: str, **kwargs: Any) -> Callable[[_Decorated], _Decorated]:
        """Decorator for GET (and HEAD unless ``allow_head=False``)."""
        return self.route("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Callable[[_Decorated], _Decorated]:
        """Decorator for HEAD."""
        return self.route("HEAD", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[_Decorated], _Decorated]:
        """Decorator for POST."""
        return self.route("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[_Decorated], _Decorated]:
        """Decorator for PUT."""
        return self.route("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[_Decorated], _Decorated]:
        """Decorator for PATCH."""
        return self.route("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[_Decorated], _Decorated]:
        """Decorator for DELETE."""
        return self.route("DELETE", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Callable[[_Decorated], _Decorated]:
        """Decorator for OPTIONS."""
        return self.route("OPTIONS", path, **kwargs)

    def view(self, path: str, **kwargs: Any) -> Callable[[_Decorated], _Decorated]:
        """Decorator for a class-based view (every method)."""
        return self.route(METH_ANY, path, **kwargs)

    def static(self, prefix: str, path: str | os.PathLike[str], **kwargs: Any) -> None:
        """Add a static-files definition."""
        self._items.append(StaticDef(prefix, path, kwargs))


Mapping.register(UrlDispatcher)
Sequence.register(RouteTableDef)
