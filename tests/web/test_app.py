"""`web.Application` over real sockets: routing answers, views, middlewares, sub-applications,
lifecycle signals, typed state, error pages, HTTP exceptions and path normalization."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx
import pytest

import ketch
from ketch import web
from tests.support import RawClient, async_test, serve

from .helpers import served

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from ketch.web.app import RequestHandler


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="Hello!\n")


def text_handler(label: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=label)

    return handler


# -- routes -----------------------------------------------------------------------------------


@async_test()
async def test_routes_from_every_registration_style_are_served() -> None:
    routes = web.RouteTableDef()

    @routes.get("/table")
    async def table(request: web.Request) -> web.Response:
        return web.Response(text="table")

    @routes.post("/table")
    async def table_post(request: web.Request) -> web.Response:
        return web.Response(text="table post")

    app = web.Application()
    app.add_routes(routes)
    app.add_routes([web.get("/defs", text_handler("defs")), web.put("/defs", text_handler("put"))])
    app.router.add_get("/router", text_handler("router"))
    app.router.add_patch("/router", text_handler("patch"))
    app.router.add_delete("/router", text_handler("delete"))
    app.router.add_route("POST", "/route", text_handler("route"))
    async with served(app) as (client, _):
        answers = [
            (await client.request(method, path)).text
            for method, path in [
                ("GET", "/table"),
                ("POST", "/table"),
                ("GET", "/defs"),
                ("PUT", "/defs"),
                ("GET", "/router"),
                ("PATCH", "/router"),
                ("DELETE", "/router"),
                ("POST", "/route"),
            ]
        ]
    assert answers == ["table", "table post", "defs", "put", "router", "patch", "delete", "route"]


@async_test()
async def test_unknown_path_is_answered_404() -> None:
    app = web.Application()
    app.router.add_get("/", hello)
    async with served(app) as (client, _):
        response = await client.get("/missing")
    assert response.status_code == 404
    assert response.text == "404: Not Found"


@async_test()
async def test_method_without_route_is_answered_405_with_allow() -> None:
    app = web.Application()
    app.router.add_get("/thing", hello)
    app.router.add_post("/thing", hello)
    async with served(app) as (client, _):
        response = await client.delete("/thing")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"


@async_test()
async def test_head_on_a_get_route_has_the_get_length_and_no_body() -> None:
    app = web.Application()
    app.router.add_get("/", hello)
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        head = await client.request("HEAD", "/")
        get = await client.request("GET", "/")  # the same connection: no stray body before it
    assert head.status == 200
    assert head.body == b""
    assert head.header(b"content-length") == b"7"
    assert get.body == b"Hello!\n"


@async_test()
async def test_get_route_with_allow_head_false_answers_head_405() -> None:
    app = web.Application()
    app.router.add_get("/", hello, allow_head=False)
    async with served(app) as (client, _):
        response = await client.head("/")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


@async_test()
async def test_star_route_answers_every_method_including_unregistered_ones() -> None:
    async def echo_method(request: web.Request) -> web.Response:
        return web.Response(text=request.method)

    app = web.Application()
    app.router.add_route("*", "/any", echo_method)
    async with served(app) as (client, _):
        methods = [
            (await client.request(method, "/any")).text
            for method in ("GET", "POST", "DELETE", "OPTIONS", "PURGE")
        ]
    assert methods == ["GET", "POST", "DELETE", "OPTIONS", "PURGE"]


@async_test()
async def test_named_route_url_for_builds_the_path() -> None:
    async def link(request: web.Request) -> web.Response:
        return web.Response(text=request.app.router["user"].url_for(id="42"))

    app = web.Application()
    app.router.add_get("/users/{id:int}", hello, name="user")
    app.router.add_get("/link", link)
    async with served(app) as (client, _):
        response = await client.get("/link")
    assert response.text == "/users/42"


# -- views ------------------------------------------------------------------------------------


class ItemView(web.View):
    async def get(self) -> web.Response:
        return web.Response(text=f"get {self.request.match_info['id']}")

    async def post(self) -> web.Response:
        return web.Response(text=f"post {await self.request.text()}")


@async_test()
async def test_view_dispatches_on_the_method() -> None:
    app = web.Application()
    app.router.add_view("/items/{id}", ItemView)
    async with served(app) as (client, _):
        got = await client.get("/items/7")
        posted = await client.post("/items/7", content=b"body")
    assert got.text == "get 7"
    assert posted.text == "post body"


@async_test()
async def test_view_without_the_method_answers_405_with_its_methods() -> None:
    routes = web.RouteTableDef()
    routes.view("/items/{id}")(ItemView)
    app = web.Application()
    app.add_routes(routes)
    async with served(app) as (client, _):
        response = await client.put("/items/7")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"


# -- middlewares ------------------------------------------------------------------------------


@async_test()
async def test_middlewares_wrap_the_handler_first_outermost() -> None:
    trace: list[str] = []

    def tracer(label: str) -> web.Middleware:
        async def mw(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
            trace.append(f"{label} in")
            response = await handler(request)
            trace.append(f"{label} out")
            response.headers[f"X-{label}"] = "seen"
            return response

        return mw

    async def handle(request: web.Request) -> web.Response:
        trace.append("handler")
        return web.Response(text="ok")

    app = web.Application(middlewares=[tracer("outer"), web.middleware(tracer("inner"))])
    app.router.add_get("/", handle)
    async with served(app) as (client, _):
        response = await client.get("/")
    assert trace == ["outer in", "inner in", "handler", "inner out", "outer out"]
    assert response.headers["X-outer"] == response.headers["X-inner"] == "seen"


@async_test()
async def test_middleware_stores_data_in_the_request_for_the_handler() -> None:
    async def authenticate(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
        request["user"] = request.headers.get("X-User", "anonymous")
        return await handler(request)

    async def whoami(request: web.Request) -> web.Response:
        return web.Response(text=request["user"])

    app = web.Application(middlewares=[authenticate])
    app.router.add_get("/", whoami)
    async with served(app) as (client, _):
        named = await client.get("/", headers={"X-User": "alice"})
        anonymous = await client.get("/")
    assert named.text == "alice"
    assert anonymous.text == "anonymous"


@async_test()
async def test_middleware_can_answer_without_calling_the_handler() -> None:
    called = []

    async def gate(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
        if "X-Token" not in request.headers:
            return web.Response(status=401, text="no token")
        return await handler(request)

    async def secret(request: web.Request) -> web.Response:
        called.append(request.path)
        return web.Response(text="secret")

    app = web.Application(middlewares=[gate])
    app.router.add_get("/secret", secret)
    async with served(app) as (client, _):
        refused = await client.get("/secret")
        allowed = await client.get("/secret", headers={"X-Token": "t"})
    assert (refused.status_code, refused.text) == (401, "no token")
    assert (allowed.status_code, allowed.text) == (200, "secret")
    assert called == ["/secret"]


@async_test()
async def test_middleware_sees_404_and_405_as_http_exceptions() -> None:
    seen: list[int] = []

    async def watch(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            seen.append(exc.status)
            raise

    app = web.Application(middlewares=[watch])
    app.router.add_get("/", hello)
    async with served(app) as (client, _):
        assert (await client.get("/nope")).status_code == 404
        assert (await client.post("/")).status_code == 405
    assert seen == [404, 405]


@async_test()
async def test_exception_in_a_middleware_is_logged_and_answered_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
        raise ValueError("middleware bug")

    app = web.Application(middlewares=[broken])
    app.router.add_get("/", hello)
    with caplog.at_level(logging.ERROR, logger="ketch.error"):
        async with served(app) as (client, _):
            response = await client.get("/")
    assert response.status_code == 500
    records = [r for r in caplog.records if r.name == "ketch.error"]
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], ValueError)


# -- sub-applications -------------------------------------------------------------------------


@async_test()
async def test_subapp_middlewares_run_inside_the_parents_and_request_app_is_the_subapp() -> None:
    trace: list[str] = []

    def tracer(label: str) -> web.Middleware:
        async def mw(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
            trace.append(label)
            return await handler(request)

        return mw

    admin = web.Application(middlewares=[tracer("child")])

    async def handle(request: web.Request) -> web.Response:
        trace.append("handler")
        return web.Response(text="admin" if request.app is admin else "other app")

    admin.router.add_get("/panel", handle)
    app = web.Application(middlewares=[tracer("parent")])
    app.router.add_get("/", hello)
    app.add_subapp("/admin", admin)
    async with served(app) as (client, _):
        response = await client.get("/admin/panel")
        trace.append("--")
        root = await client.get("/")
    assert response.text == "admin"
    assert root.text == "Hello!\n"
    assert trace == ["parent", "child", "handler", "--", "parent"]


@async_test()
async def test_subapp_config_dict_chains_its_state_over_the_parents() -> None:
    async def show(request: web.Request) -> web.Response:
        config = request.config_dict
        return web.json_response(
            {"name": config["name"], "db": config["db"], "own": "db" in request.app}
        )

    child = web.Application()
    child["name"] = "child"
    child.router.add_get("/show", show)
    app = web.Application()
    app["name"] = "parent"
    app["db"] = "sqlite"
    app.add_subapp("/child", child)
    async with served(app) as (client, _):
        response = await client.get("/child/show")
    assert response.json() == {"name": "child", "db": "sqlite", "own": False}


@async_test()
async def test_subapp_url_for_includes_the_prefix() -> None:
    async def link(request: web.Request) -> web.Response:
        return web.Response(text=request.app.router["item"].url_for(id="5"))

    child = web.Application()
    child.router.add_get("/items/{id}", hello, name="item")
    child.router.add_get("/link", link)
    app = web.Application()
    app.add_subapp("/shop", child)
    async with served(app) as (client, _):
        response = await client.get("/shop/link")
        item = await client.get("/shop/items/5")
    assert response.text == "/shop/items/5"
    assert item.status_code == 200


@async_test()
async def test_subapp_404_uses_the_subapps_error_page_and_its_middlewares() -> None:
    async def page(request: web.Request, exc: BaseException) -> web.StreamResponse:
        return web.Response(status=404, text="no such api")

    async def tag(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPNotFound:
            raise web.HTTPNotFound(headers={"X-Api": "1"}) from None

    api = web.Application(middlewares=[tag])
    api.router.add_get("/v1", hello)
    api.error_pages[404] = page
    app = web.Application()
    app.add_subapp("/api", api)
    async with served(app) as (client, _):
        inside = await client.get("/api/v2")
        outside = await client.get("/elsewhere")
    assert (inside.status_code, inside.text) == (404, "no such api")
    assert outside.text == "404: Not Found"


@async_test()
async def test_subapp_lifecycle_signals_run_with_the_parents() -> None:
    events: list[str] = []

    def record(label: str) -> Callable[[web.Application], Awaitable[None]]:
        async def callback(app: web.Application) -> None:
            events.append(label)

        return callback

    child = web.Application()
    child.on_startup.append(record("child startup"))
    child.on_cleanup.append(record("child cleanup"))
    app = web.Application()
    app.on_startup.append(record("parent startup"))
    app.on_cleanup.append(record("parent cleanup"))
    app.add_subapp("/child", child)
    async with serve(app):
        assert events == ["parent startup", "child startup"]
    assert events[2:] == ["parent cleanup", "child cleanup"]


@async_test()
async def test_parent_on_response_prepare_applies_to_subapp_responses() -> None:
    async def stamp(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["X-Parent"] = "yes"

    child = web.Application()
    child.router.add_get("/x", hello)
    app = web.Application()
    app.on_response_prepare.append(stamp)
    app.add_subapp("/child", child)
    async with served(app) as (client, _):
        response = await client.get("/child/x")
    assert response.headers.get("X-Parent") == "yes"


# -- lifecycle --------------------------------------------------------------------------------


def lifecycle_app(events: list[str]) -> web.Application:
    async def on_startup(app: web.Application) -> None:
        events.append("startup")

    async def on_shutdown(app: web.Application) -> None:
        events.append("shutdown")

    async def on_cleanup(app: web.Application) -> None:
        events.append("cleanup")

    async def context(app: web.Application) -> AsyncIterator[None]:
        events.append("context enter")
        yield
        events.append("context exit")

    async def handle(request: web.Request) -> web.Response:
        events.append("request")
        return web.Response(text="ok")

    app = web.Application()
    app.cleanup_ctx.append(context)
    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get("/", handle)
    return app


EXPECTED_LIFECYCLE = [
    "context enter",
    "startup",
    "request",
    "shutdown",
    "context exit",
    "cleanup",
]


@async_test()
async def test_lifecycle_runs_in_order_under_app_runner() -> None:
    events: list[str] = []
    app = lifecycle_app(events)
    runner = web.AppRunner(app)
    await runner.setup()
    assert events == ["context enter", "startup"]
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/")
        assert response.text == "ok"
    finally:
        await runner.cleanup()
    assert events == EXPECTED_LIFECYCLE


@async_test()
async def test_lifecycle_runs_in_order_under_ketch_server() -> None:
    events: list[str] = []
    app = lifecycle_app(events)
    async with ketch.Server(app, host="127.0.0.1", port=0, access_log=False) as server:
        assert events == ["context enter", "startup"]
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{server.port}/")
    assert events == EXPECTED_LIFECYCLE


@async_test()
async def test_signals_and_router_are_frozen_once_the_app_started() -> None:
    async def callback(app: web.Application) -> None:
        pass

    app = web.Application()
    app.router.add_get("/", hello)
    async with serve(app):
        assert app.frozen
        for signal in (app.on_startup, app.on_shutdown, app.on_cleanup, app.on_response_prepare):
            with pytest.raises(RuntimeError, match="frozen"):
                signal.append(callback)
        with pytest.raises(RuntimeError):
            app.on_cleanup += [callback]
        with pytest.raises(RuntimeError):
            app.router.add_get("/late", hello)
        with pytest.raises(RuntimeError):
            app.add_subapp("/late", web.Application())


@async_test()
async def test_failing_startup_aborts_the_start_and_cleans_up_what_started() -> None:
    events: list[str] = []

    async def pool(app: web.Application) -> AsyncIterator[None]:
        events.append("pool opened")
        yield
        events.append("pool closed")

    async def fail(app: web.Application) -> None:
        raise RuntimeError("database unreachable")

    async def on_cleanup(app: web.Application) -> None:
        events.append("cleanup")

    app = web.Application()
    app.cleanup_ctx.append(pool)
    app.on_startup.append(fail)
    app.on_cleanup.append(on_cleanup)
    with pytest.raises(RuntimeError, match="database unreachable"):
        async with serve(app):
            pass
    assert events == ["pool opened", "pool closed", "cleanup"]


# -- state ------------------------------------------------------------------------------------


class Database:
    def __init__(self, name: str) -> None:
        self.name = name


DB = web.AppKey("db", Database)


@async_test()
async def test_app_key_state_reaches_handlers() -> None:
    async def handle(request: web.Request) -> web.Response:
        db: Database = request.app[DB]
        return web.Response(text=f"{db.name} {request.config_dict[DB].name}")

    async def connect(app: web.Application) -> AsyncIterator[None]:
        app[DB] = Database("main")
        yield
        del app[DB]

    app = web.Application()
    app.cleanup_ctx.append(connect)
    app.router.add_get("/", handle)
    async with served(app) as (client, _):
        response = await client.get("/")
    assert response.text == "main main"
    assert DB not in app
    assert repr(DB) == "<AppKey('db', type=Database)>"


# -- errors -----------------------------------------------------------------------------------


@async_test()
async def test_error_page_replaces_the_404_answer() -> None:
    async def not_found(request: web.Request, exc: BaseException) -> web.StreamResponse:
        assert isinstance(exc, web.HTTPNotFound)
        return web.Response(status=404, text=f"nothing at {request.path}", content_type="text/x")

    app = web.Application()
    app.error_pages[404] = not_found
    async with served(app) as (client, _):
        response = await client.get("/where")
    assert response.status_code == 404
    assert response.text == "nothing at /where"
    assert response.headers["Content-Type"] == "text/x; charset=utf-8"


@async_test()
async def test_unhandled_exception_is_logged_answered_500_and_the_server_lives_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("kaboom")

    app = web.Application()
    app.router.add_get("/boom", boom)
    app.router.add_get("/", hello)
    with caplog.at_level(logging.ERROR, logger="ketch.error"):
        async with serve(app) as server:
            async with httpx.AsyncClient() as client:
                failed = await client.get(f"http://127.0.0.1:{server.port}/boom")
            async with await RawClient.connect(server.port) as raw:  # a new connection
                after = await raw.request("GET", "/")
    assert failed.status_code == 500
    assert failed.text == "500: Internal Server Error"
    assert "kaboom" not in failed.text
    assert after.status == 200
    assert after.body == b"Hello!\n"
    [record] = [r for r in caplog.records if r.name == "ketch.error"]
    assert "GET /boom" in record.getMessage()
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "kaboom"
    assert "Traceback" in caplog.text


@async_test()
async def test_error_page_replaces_the_500_answer_and_the_exception_is_still_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise KeyError("missing")

    async def oops(request: web.Request, exc: BaseException) -> web.StreamResponse:
        return web.json_response({"error": type(exc).__name__}, status=500)

    app = web.Application()
    app.router.add_get("/boom", boom)
    app.error_pages[500] = oops
    with caplog.at_level(logging.ERROR, logger="ketch.error"):
        async with served(app) as (client, _):
            response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "KeyError"}
    assert any(r.exc_info and isinstance(r.exc_info[1], KeyError) for r in caplog.records)


@async_test()
async def test_failing_error_page_falls_back_to_the_plain_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def bad_page(request: web.Request, exc: BaseException) -> web.StreamResponse:
        raise RuntimeError("the error page is broken too")

    app = web.Application()
    app.error_pages[404] = bad_page
    with caplog.at_level(logging.ERROR, logger="ketch.error"):
        async with served(app) as (client, _):
            response = await client.get("/nope")
    assert response.status_code == 404
    assert response.text == "404: Not Found"
    assert "the error page is broken too" in caplog.text


@async_test()
async def test_handler_returning_a_non_response_is_answered_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def wrong(request: web.Request) -> str:
        return "not a response"

    app = web.Application()
    app.router.add_get("/", wrong)
    with caplog.at_level(logging.ERROR, logger="ketch.error"):
        async with served(app) as (client, _):
            response = await client.get("/")
    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "ketch.error"]
    assert record.exc_info is not None
    assert "not a response" in str(record.exc_info[1])


@async_test()
async def test_raising_http_found_redirects_with_location() -> None:
    async def go(request: web.Request) -> web.Response:
        raise web.HTTPFound("/x")

    app = web.Application()
    app.router.add_get("/go", go)
    async with served(app) as (client, _):
        response = await client.get("/go")
    assert response.status_code == 302
    assert response.headers["Location"] == "/x"


@async_test()
async def test_http_exception_with_custom_text_headers_and_reason() -> None:
    async def teapot(request: web.Request) -> web.Response:
        raise web.HTTPForbidden(text="go away", headers={"X-Why": "policy"}, reason="Not Today")

    async def gone(request: web.Request) -> web.Response:
        raise web.HTTPGone(body=b'{"gone": true}', content_type="application/json")

    async def empty(request: web.Request) -> web.Response:
        raise web.HTTPNoContent(headers={"X-Done": "1"})

    app = web.Application()
    app.router.add_get("/forbidden", teapot)
    app.router.add_get("/gone", gone)
    app.router.add_get("/empty", empty)
    async with served(app) as (client, _):
        forbidden = await client.get("/forbidden")
        gone_response = await client.get("/gone")
        empty_response = await client.get("/empty")
    assert forbidden.status_code == 403
    assert forbidden.reason_phrase == "Not Today"
    assert forbidden.text == "go away"
    assert forbidden.headers["X-Why"] == "policy"
    assert gone_response.status_code == 410
    assert gone_response.json() == {"gone": True}
    assert gone_response.headers["Content-Type"] == "application/json"
    assert empty_response.status_code == 204
    assert empty_response.content == b""
    assert empty_response.headers["X-Done"] == "1"


@async_test()
async def test_unavailable_for_legal_reasons_carries_the_link() -> None:
    async def blocked(request: web.Request) -> web.Response:
        raise web.HTTPUnavailableForLegalReasons(link="https://example.com/why")

    app = web.Application()
    app.router.add_get("/", blocked)
    async with served(app) as (client, _):
        response = await client.get("/")
    assert response.status_code == 451
    assert response.headers["Link"] == '<https://example.com/why>; rel="blocked-by"'


# -- normalize_path_middleware ----------------------------------------------------------------


@async_test()
async def test_normalize_path_appends_a_slash_with_a_308_keeping_the_query() -> None:
    app = web.Application(middlewares=[web.normalize_path_middleware()])
    app.router.add_get("/docs/", hello)
    app.router.add_post("/form/", hello)
    async with served(app) as (client, _):
        response = await client.get("/docs?page=2&q=a+b")
        posted = await client.post("/form", content=b"x")
        target = await client.get("/docs/")
    assert response.status_code == 308
    assert response.headers["Location"] == "/docs/?page=2&q=a+b"
    assert posted.status_code == 308
    assert posted.headers["Location"] == "/form/"
    assert target.status_code == 200


@async_test()
async def test_normalize_path_merges_slashes_and_removes_a_trailing_one() -> None:
    app = web.Application(
        middlewares=[
            web.normalize_path_middleware(
                append_slash=False, remove_slash=True, redirect_class=web.HTTPMovedPermanently
            )
        ]
    )
    app.router.add_get("/a/b", hello)
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        trailing = await client.request("GET", "/a/b/")
        doubled = await client.request("GET", "//a//b/")  # (httpx would normalize this path)
        missing = await client.request("GET", "/a/c/")
    assert trailing.status == 301
    assert trailing.header(b"location") == b"/a/b"
    assert doubled.status == 301
    assert doubled.header(b"location") == b"/a/b"  # never a protocol-relative //a target
    assert missing.status == 404


@async_test()
async def test_normalize_path_does_not_redirect_existing_paths_or_other_errors() -> None:
    async def fail(request: web.Request) -> web.Response:
        raise web.HTTPNotFound(text="no such item")

    app = web.Application(middlewares=[web.normalize_path_middleware()])
    app.router.add_get("/items/{id}", fail)
    app.router.add_get("/items/{id}/", hello)
    async with served(app) as (client, _):
        response = await client.get("/items/3")
    # the path has a route: its handler's own 404 is not a reason to redirect
    assert response.status_code == 404
    assert response.text == "no such item"


def test_normalize_path_refuses_both_append_and_remove() -> None:
    with pytest.raises(ValueError, match="both"):
        web.normalize_path_middleware(append_slash=True, remove_slash=True)
