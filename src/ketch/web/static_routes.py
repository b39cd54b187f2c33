"""Serving a `StaticResource` (``web.static(prefix, directory)``): files, and index pages.

The answer to a path is `ketch.static.Site`'s, the same as `ketch.static.StaticFiles` gives (one
resolution, listing and redirect for both), turned into ``ketch.web`` responses so that
middlewares and ``on_response_prepare`` see them: a `FileResponse` for a file, a `Response` for a
listing, an `HTTPException` for the rest.  As in aiohttp, a directory has no index file and is
answered 403 without ``show_index=True``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..static.site import Kind, Site, directory_redirect
from .exceptions import HTTPForbidden, HTTPMovedPermanently, HTTPNotFound
from .response import FileResponse, Response

if TYPE_CHECKING:
    from .app import RequestHandler
    from .request import Request
    from .response import StreamResponse
    from .routing import StaticResource

__all__ = ["static_handler"]


def static_handler(resource: StaticResource) -> RequestHandler:
    """The handler of a static resource's GET and HEAD routes.

    A path that leaves the directory gets 404 (whether it exists out there is not revealed); a
    directory asked for without its trailing ``/`` is redirected (301) to it; then it gets its
    listing with ``show_index=True``, 403 otherwise, as in aiohttp.
    """
    site = Site(
        resource.directory,
        follow_symlinks=resource.follow_symlinks,
        listing=resource.show_index,
        index=None,
    )

    async def serve_static(request: Request) -> StreamResponse:
        filename = request.match_info["filename"]
        # "" is the prefix itself: with its "/" the root, without it a directory to redirect.
        slash = request.path.endswith("/")
        url_path = "/" + filename if filename or slash else ""
        found = site.find(url_path)
        kind = found.kind
        if kind is Kind.FILE and found.path is not None:
            return FileResponse(found.path)
        if kind is Kind.REDIRECT:
            path, _, query = request.raw_path.partition("?")
            location = directory_redirect(path.encode("latin-1"), query.encode("latin-1"))
            raise HTTPMovedPermanently(location.decode("latin-1"))
        if kind is Kind.LISTING and found.path is not None:
            return Response(
                body=site.listing(found.path, request.path),
                content_type="text/html",
                charset="utf-8",
            )
        if kind is Kind.DIRECTORY:
            raise HTTPForbidden()
        raise HTTPNotFound()

    return serve_static
