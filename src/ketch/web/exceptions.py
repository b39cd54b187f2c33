"""HTTP errors and redirects as exceptions: ``raise web.HTTPNotFound()`` answers 404.

The class names and constructor arguments are aiohttp.web's.  Unlike aiohttp 3, an `HTTPException`
is not itself a response object: raise it, do not return it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..http11.writers import reason_phrase

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "HTTPAccepted",
    "HTTPBadGateway",
    "HTTPBadRequest",
    "HTTPClientError",
    "HTTPConflict",
    "HTTPCreated",
    "HTTPError",
    "HTTPException",
    "HTTPExpectationFailed",
    "HTTPFailedDependency",
    "HTTPForbidden",
    "HTTPFound",
    "HTTPGatewayTimeout",
    "HTTPGone",
    "HTTPInsufficientStorage",
    "HTTPInternalServerError",
    "HTTPLengthRequired",
    "HTTPMethodNotAllowed",
    "HTTPMisdirectedRequest",
    "HTTPMovedPermanently",
    "HTTPMultipleChoices",
    "HTTPNoContent",
    "HTTPNotAcceptable",
    "HTTPNotFound",
    "HTTPNotImplemented",
    "HTTPNotModified",
    "HTTPOk",
    "HTTPPartialContent",
    "HTTPPermanentRedirect",
    "HTTPPreconditionFailed",
    "HTTPPreconditionRequired",
    "HTTPRedirection",
    "HTTPRequestEntityTooLarge",
    "HTTPRequestHeaderFieldsTooLarge",
    "HTTPRequestRangeNotSatisfiable",
    "HTTPRequestTimeout",
    "HTTPRequestURITooLong",
    "HTTPResetContent",
    "HTTPSeeOther",
    "HTTPServerError",
    "HTTPServiceUnavailable",
    "HTTPSuccessful",
    "HTTPTemporaryRedirect",
    "HTTPTooManyRequests",
    "HTTPUnauthorized",
    "HTTPUnavailableForLegalReasons",
    "HTTPUnprocessableEntity",
    "HTTPUnsupportedMediaType",
    "HTTPUpgradeRequired",
    "HTTPVersionNotSupported",
]

_NO_BODY = frozenset({204, 304})


class HTTPException(Exception):
    """An HTTP answer raised from a handler or middleware.

    Args:
        headers: extra response headers.
        reason: the reason phrase (defaults to the status's standard phrase).
        text: the body as text; defaults to ``"<status>: <reason>"`` for errors.
        body: the body as bytes (instead of `text`).
        content_type: defaults to ``text/plain`` when there is a body.
    """

    status_code: ClassVar[int] = -1
    empty_body: ClassVar[bool] = False

    def __init__(
        self,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        reason: str | None = None,
        text: str | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> None:
        if reason is None:
            reason = reason_phrase(self.status_code)
        if text is None and body is None and not self.empty_body:
            text = f"{self.status_code}: {reason}"
        super().__init__(f"{self.status_code}: {reason}")
        self.reason = reason
        self.headers: dict[str, str] = dict(headers or ())
        self.text = text
        self.body = body
        self.content_type = content_type

    @property
    def status(self) -> int:
        """The status code (aiohttp's name for `status_code`)."""
        return self.status_code

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.status_code} {self.reason}>"


class HTTPError(HTTPException):
    """Base of the 4xx and 5xx exceptions."""


class HTTPSuccessful(HTTPException):
    """Base of the 2xx exceptions."""


class HTTPRedirection(HTTPException):
    """Base of the 3xx exceptions."""


class HTTPClientError(HTTPError):
    """Base of the 4xx exceptions."""


class HTTPServerError(HTTPError):
    """Base of the 5xx exceptions."""


class _HTTPMove(HTTPRedirection):
    def __init__(self, location: str, **kwargs: Any) -> None:
        if not location:
            raise ValueError("a redirect needs a location")
        super().__init__(**kwargs)
        self.headers["Location"] = str(location)
        self.location = str(location)


# 2xx
class HTTPOk(HTTPSuccessful):
    status_code = 200


class HTTPCreated(HTTPSuccessful):
    status_code = 201


class HTTPAccepted(HTTPSuccessful):
    status_code = 202


class HTTPNoContent(HTTPSuccessful):
    status_code = 204
    empty_body = True


class HTTPResetContent(HTTPSuccessful):
    status_code = 205
    empty_body = True


class HTTPPartialContent(HTTPSuccessful):
    status_code = 206


# 3xx
class HTTPMultipleChoices(_HTTPMove):
    status_code = 300


class HTTPMovedPermanently(_HTTPMove):
    status_code = 301


class HTTPFound(_HTTPMove):
    status_code = 302


class HTTPSeeOther(_HTTPMove):
    status_code = 303


class HTTPNotModified(HTTPRedirection):
    status_code = 304
    empty_body = True


class HTTPTemporaryRedirect(_HTTPMove):
    status_code = 307


class HTTPPermanentRedirect(_HTTPMove):
    status_code = 308


# 4xx
class HTTPBadRequest(HTTPClientError):
    status_code = 400


class HTTPUnauthorized(HTTPClientError):
    status_code = 401


class HTTPForbidden(HTTPClientError):
    status_code = 403


class HTTPNotFound(HTTPClientError):
    status_code = 404


class HTTPMethodNotAllowed(HTTPClientError):
    """405, with the ``Allow`` header listing `allowed_methods`."""

    status_code = 405

    def __init__(self, method: str, allowed_methods: Iterable[str], **kwargs: Any) -> None:
        allowed = sorted(allowed_methods)
        super().__init__(**kwargs)
        self.headers["Allow"] = ", ".join(allowed)
        self.method = method.upper()
        self.allowed_methods = set(allowed)


class HTTPNotAcceptable(HTTPClientError):
    status_code = 406


class HTTPRequestTimeout(HTTPClientError):
    status_code = 408


class HTTPConflict(HTTPClientError):
    status_code = 409


class HTTPGone(HTTPClientError):
    status_code = 410


class HTTPLengthRequired(HTTPClientError):
    status_code = 411


class HTTPPreconditionFailed(HTTPClientError):
    status_code = 412


class HTTPRequestEntityTooLarge(HTTPClientError):
    """413; ``max_size`` and ``actual_size`` say by how much."""

    status_code = 413

    def __init__(self, max_size: int, actual_size: int, **kwargs: Any) -> None:
        kwargs.setdefault(
            "text",
            f"Maximum request body size {max_size} exceeded, actual body size {actual_size}",
        )
        super().__init__(**kwargs)
        self.max_size = max_size
        self.actual_size = actual_size


class HTTPRequestURITooLong(HTTPClientError):
    status_code = 414


class HTTPUnsupportedMediaType(HTTPClientError):
    status_code = 415


class HTTPRequestRangeNotSatisfiable(HTTPClientError):
    status_code = 416


class HTTPExpectationFailed(HTTPClientError):
    status_code = 417


class HTTPMisdirectedRequest(HTTPClientError):
    status_code = 421


class HTTPUnprocessableEntity(HTTPClientError):
    status_code = 422


class HTTPFailedDependency(HTTPClientError):
    status_code = 424


class HTTPUpgradeRequired(HTTPClientError):
    status_code = 426


class HTTPPreconditionRequired(HTTPClientError):
    status_code = 428


class HTTPTooManyRequests(HTTPClientError):
    status_code = 429


class HTTPRequestHeaderFieldsTooLarge(HTTPClientError):
    status_code = 431


class HTTPUnavailableForLegalReasons(HTTPClientError):
    status_code = 451

    def __init__(self, link: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if link:
            self.headers["Link"] = f'<{link}>; rel="blocked-by"'
        self.link = link


# 5xx
class HTTPInternalServerError(HTTPServerError):
    status_code = 500


class HTTPNotImplemented(HTTPServerError):
    status_code = 501


class HTTPBadGateway(HTTPServerError):
    status_code = 502


class HTTPServiceUnavailable(HTTPServerError):
    status_code = 503


class HTTPGatewayTimeout(HTTPServerError):
    status_code = 504


class HTTPVersionNotSupported(HTTPServerError):
    status_code = 505


class HTTPInsufficientStorage(HTTPServerError):
    status_code = 507
