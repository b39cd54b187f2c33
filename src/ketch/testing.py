"""`TestClient`: a real ketch server on a loopback port and an HTTP client for it, in one block.

    async with TestClient(app) as client:
        response = await client.get("/")
        assert response.status_code == 200

The app is served the way ``ketch`` serves it (a ``ketch.web`` application or an ASGI app, with
its start-up and shutdown hooks), over a real socket; the client is an ``httpx.AsyncClient``
(install ``ketch[testing]``), so what a test sees is what a user's client would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from .api import Server

if TYPE_CHECKING:
    from types import TracebackType

    import httpx

__all__ = ["TestClient"]


class TestClient:
    """Serve `app` on 127.0.0.1 (a free port) and talk to it with httpx.

    Args:
        app: a ``ketch.web`` application or an ASGI app.
        settings: `ketch.Config` fields for the server (``limit_body=...``).

    Request methods (``get``, ``post``, ``request``, ...) are the ``httpx.AsyncClient``'s, with
    URLs relative to the server.  `server` is the running `ketch.Server`.
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, app: Any, **settings: Any) -> None:
        settings.setdefault("host", "127.0.0.1")
        settings.setdefault("port", 0)
        settings.setdefault("access_log", False)
        self.server = Server(app, **settings)
        self._client: httpx.AsyncClient | None = None

    @property
    def port(self) -> int:
        return self.server.port

    def make_url(self, path: str) -> str:
        """The absolute URL of `path` on the test server."""
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("use the TestClient in an 'async with' block")
        return self._client

    async def __aenter__(self) -> Self:
        import httpx

        await self.server.start()
        self._client = httpx.AsyncClient(base_url=self.make_url(""), timeout=30)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._client is not None:
                await self._client.aclose()
        finally:
            self._client = None
            await self.server.shutdown()

    def __getattr__(self, name: str) -> Any:
        # get, post, put, patch, delete, head, options, request, stream: the httpx client's.
        if name in {
            "get",
            "post",
            "put",
            "patch",
            "delete",
            "head",
            "options",
            "request",
            "stream",
        }:
            return getattr(self.client, name)
        raise AttributeError(name)
