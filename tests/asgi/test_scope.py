"""The ASGI ``http`` scope, as an app sees it for requests over a real socket."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import RawClient, async_test, respond, serve


class ScopeRecorder:
    """An app that keeps every http scope it gets and answers 200."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.scopes.append(scope)
        await respond(send, b"ok")


async def one_scope(request: bytes, **settings: Any) -> tuple[dict[str, Any], Any, int]:
    """Serve a ScopeRecorder, send `request` raw; returns (scope, client sockname, server port)."""
    app = ScopeRecorder()
    async with serve(app, **settings) as server, await RawClient.connect(server.port) as client:
        await client.send(request)
        response = await client.response()
        assert response.status == 200
        (scope,) = app.scopes
        return scope, client.sockname, server.port


@async_test()
async def test_scope_basics_for_a_get() -> None:
    scope, sockname, port = await one_scope(b"GET /items?x=1&y=%20 HTTP/1.1\r\nHost: h\r\n\r\n")
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/items"
    assert scope["raw_path"] == b"/items"
    assert scope["query_string"] == b"x=1&y=%20"
    assert scope["root_path"] == ""
    assert scope["client"] == ("127.0.0.1", sockname[1])
    assert scope["server"] == ("127.0.0.1", port)


@async_test()
async def test_scope_method_is_passed_through_for_extension_methods() -> None:
    scope, _, _ = await one_scope(b"PURGE /cache HTTP/1.1\r\nHost: h\r\n\r\n")
    assert scope["method"] == "PURGE"


@async_test()
async def test_scope_http_version_of_an_http10_request() -> None:
    scope, _, _ = await one_scope(b"GET / HTTP/1.0\r\n\r\n")
    assert scope["http_version"] == "1.0"


@async_test()
async def test_scope_path_is_percent_decoded_utf8_and_raw_path_is_not() -> None:
    scope, _, _ = await one_scope(b"GET /caf%C3%A9/a%20b%2Fc HTTP/1.1\r\nHost: h\r\n\r\n")
    assert scope["path"] == "/caf\u00e9/a b/c"
    assert scope["raw_path"] == b"/caf%C3%A9/a%20b%2Fc"
    assert scope["query_string"] == b""


@async_test()
async def test_scope_query_string_keeps_its_bytes_undecoded() -> None:
    scope, _, _ = await one_scope(b"GET /?q=caf%C3%A9&a=b+c&empty= HTTP/1.1\r\nHost: h\r\n\r\n")
    assert scope["path"] == "/"
    assert scope["query_string"] == b"q=caf%C3%A9&a=b+c&empty="


@async_test()
async def test_scope_absolute_form_target_gives_path_and_query() -> None:
    scope, _, _ = await one_scope(
        b"GET http://example.com/abs/path?k=v HTTP/1.1\r\nHost: example.com\r\n\r\n"
    )
    assert scope["path"] == "/abs/path"
    assert scope["raw_path"] == b"/abs/path"
    assert scope["query_string"] == b"k=v"


@async_test()
async def test_scope_root_path_is_prefixed_to_path_and_raw_path() -> None:
    scope, _, _ = await one_scope(b"GET /users/7 HTTP/1.1\r\nHost: h\r\n\r\n", root_path="/api")
    assert scope["root_path"] == "/api"
    assert scope["path"] == "/api/users/7"
    assert scope["raw_path"] == b"/api/users/7"


@async_test()
async def test_scope_headers_are_lowercased_with_order_and_duplicates_kept() -> None:
    scope, _, _ = await one_scope(
        b"GET / HTTP/1.1\r\n"
        b"Host: h\r\n"
        b"X-Custom: one\r\n"
        b"Accept: */*\r\n"
        b"x-CUSTOM: two\r\n"
        b"Cookie: a=1\r\n"
        b"Cookie: b=2\r\n"
        b"\r\n"
    )
    assert scope["headers"] == [
        (b"host", b"h"),
        (b"x-custom", b"one"),
        (b"accept", b"*/*"),
        (b"x-custom", b"two"),
        (b"cookie", b"a=1"),
        (b"cookie", b"b=2"),
    ]
    assert all(type(name) is bytes and type(value) is bytes for name, value in scope["headers"])


@async_test()
async def test_scope_header_values_keep_case_and_inner_spaces() -> None:
    scope, _, _ = await one_scope(b"GET / HTTP/1.1\r\nHost: h\r\nX-V:   Mixed  Case\t \r\n\r\n")
    assert (b"x-v", b"Mixed  Case") in scope["headers"]


@async_test()
async def test_scope_extensions_list_what_ketch_supports() -> None:
    scope, _, _ = await one_scope(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    extensions = scope["extensions"]
    for name in (
        "http.response.trailers",
        "http.response.early_hint",
        "http.response.pathsend",
        "http.response.zerocopysend",
    ):
        assert name in extensions
        assert isinstance(extensions[name], dict)


@async_test()
async def test_scope_state_comes_from_lifespan_and_is_copied_per_request() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            scope["state"]["db"] = "connection"
            scope["state"]["shared"] = []
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        state = scope["state"]
        seen.append(dict(state))
        state["per_request"] = len(seen)  # must not leak into the next request
        state["shared"].append(len(seen))  # the copy is shallow: objects are shared
        await respond(send, b"ok")

    async with serve(app) as server, httpx.AsyncClient() as client:
        for _ in range(2):
            response = await client.get(f"http://127.0.0.1:{server.port}/")
            assert response.status_code == 200
    assert seen[0] == {"db": "connection", "shared": [1, 2]}
    assert seen[1] == {"db": "connection", "shared": [1, 2]}
    assert "per_request" not in seen[1]


@async_test()
async def test_scope_state_is_an_empty_dict_with_lifespan_off() -> None:
    scope, _, _ = await one_scope(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", lifespan="off")
    assert scope["state"] == {}


@async_test()
async def test_scope_client_port_differs_per_connection_and_matches_the_socket() -> None:
    app = ScopeRecorder()
    async with serve(app) as server:
        ports = []
        for _ in range(2):
            async with await RawClient.connect(server.port) as client:
                assert (await client.request()).status == 200
                ports.append(client.sockname[1])
    assert [scope["client"] for scope in app.scopes] == [("127.0.0.1", p) for p in ports]
    assert ports[0] != ports[1]
