"""Serving a `StaticResource` (``web.static(prefix, directory)``): files, and index pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..static import render_listing, resolve_under
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
    directory gets its listing with ``show_index=True``, 403 otherwise, as in aiohttp.
    """
    directory = resource.directory
    follow_symlinks = resource.follow_symlinks
    show_index = resource.show_index

    async def serve_static(request: Request) -> StreamResponse:
        filename = request.match_info["filename"]
        path = resolve_under(directory, filename, follow_symlinks=follow_symlinks)
        if path is None:
            raise HTTPNotFound()
        if path.is_dir():
            if not show_index:
                raise HTTPForbidden()
            if not request.path.endswith("/"):
                path_part, mark, query = request.raw_path.partition("?")
                raise HTTPMovedPermanently(path_part + "/" + mark + query)
            return Response(
                body=render_listing(path, request.path, parent=bool(filename.strip("/"))),
                content_type="text/html",
                charset="utf-8",
            )
        return FileResponse(path)

    return serve_static
