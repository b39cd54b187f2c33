"""`normalize_path_middleware`: redirect ``/a`` to ``/a/`` (or back) when only the other exists."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .exceptions import HTTPNotFound, HTTPPermanentRedirect, _HTTPMove

if TYPE_CHECKING:
    from .app import Middleware, RequestHandler
    from .request import Request
    from .response import StreamResponse

__all__ = ["normalize_path_middleware"]


def normalize_path_middleware(
    *,
    append_slash: bool = True,
    remove_slash: bool = False,
    merge_slashes: bool = True,
    redirect_class: type[_HTTPMove] = HTTPPermanentRedirect,
) -> Middleware:
    """A middleware that answers a path without a route with a redirect to a variant that has one.

    The variants tried: runs of slashes merged (`merge_slashes`), a trailing slash added
    (`append_slash`) or removed (`remove_slash`).  The query is kept.  308 by default, so the
    method and body are kept too.
    """
    if append_slash and remove_slash:
        raise ValueError("append_slash and remove_slash cannot both be on")

    async def normalize(request: Request, handler: RequestHandler) -> StreamResponse:
        try:
            return await handler(request)
        except HTTPNotFound:
            root = request._apps[0] if request._apps else request.app
            raw_path, _, query = request.raw_path.partition("?")
            if root.router.resolve(request.method, raw_path).status == 200:
                raise  # the handler's own 404 (a missing item, a missing file): no redirect
            target = root.router.resolve_alternative(
                request.method,
                raw_path,
                append_slash=append_slash,
                remove_slash=remove_slash,
                merge_slashes=merge_slashes,
            )
            if target is None:
                raise
            raise redirect_class(f"{target}?{query}" if query else target) from None

    return normalize
