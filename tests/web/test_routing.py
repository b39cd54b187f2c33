"""The router: plain and parameter paths, methods, static prefixes, sub-apps, url_for, route tables.

The router is pure, so every test resolves (method, raw path) pairs directly, with no socket.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ketch.web import routing
from ketch.web.routing import (
    AbstractRoute,
    DynamicResource,
    Handler,
    Match,
    PlainResource,
    PrefixedSubAppResource,
    ResourceRoute,
    RouteDef,
    RouteTableDef,
    StaticDef,
    StaticResource,
    UrlDispatcher,
)

if TYPE_CHECKING:
    from collections.abc import Generator


def make_handler(label: str) -> Handler:
    async def handler(request: Any) -> str:
        return label

    handler.__name__ = label
    return handler


H = make_handler("h")
H2 = make_handler("h2")


class App:
    """The little of an application the router needs: ``.router``."""

    def __init__(self) -> None:
        self.router = UrlDispatcher()


class AView:
    """Stands for web.View: made per request, then awaited."""

    def __init__(self, request: Any) -> None:
        self.request = request

    def __await__(self) -> Generator[Any, None, str]:
        yield from ()
        return "view"


@pytest.fixture
def router() -> UrlDispatcher:
    return UrlDispatcher()


def info(match: Match) -> dict[str, str]:
    return dict(match.match_info)


# -- plain paths ----------------------------------------------------------------------------------


def test_plain_path_resolves_to_its_handler_with_empty_match_info(router: UrlDispatcher) -> None:
    route = router.add_get("/hello", H)
    match = router.resolve("GET", "/hello")
    assert match.status == 200
    assert match.handler is H
    assert match.route is route
    assert match.resource is route.resource
    assert info(match) == {}
    assert match.apps == ()
    assert match.allowed == {"GET", "HEAD"}


def test_plain_matches_are_prebuilt_and_their_match_info_is_read_only(
    router: UrlDispatcher,
) -> None:
    router.add_get("/hello", H)
    first, second = router.resolve("GET", "/hello"), router.resolve("GET", "/hello")
    assert first is second
    with pytest.raises(TypeError):
        first.match_info["x"] = "y"  # type: ignore[index]


def test_unknown_path_is_404_with_nothing_allowed(router: UrlDispatcher) -> None:
    router.add_get("/hello", H)
    match = router.resolve("GET", "/nope")
    assert (match.status, match.handler, match.route, match.allowed) == (
        404,
        None,
        None,
        frozenset(),
    )


@pytest.mark.parametrize("path", ["*", "hello", "http://h/hello"])
def test_a_path_not_starting_with_a_slash_is_404(router: UrlDispatcher, path: str) -> None:
    router.add_get("/hello", H)
    router.add_get("/{x}", H)
    router.add_static("/", Path(__file__).parent)
    assert router.resolve("GET", path).status == 404


def test_trailing_slash_is_strict(router: UrlDispatcher) -> None:
    router.add_get("/a", H)
    router.add_get("/b/", H2)
    assert router.resolve("GET", "/a").status == 200
    assert router.resolve("GET", "/a/").status == 404
    assert router.resolve("GET", "/b/").handler is H2
    assert router.resolve("GET", "/b").status == 404


def test_root_path(router: UrlDispatcher) -> None:
    router.add_get("/", H)
    assert router.resolve("GET", "/").handler is H


def test_percent_encoded_request_matches_the_decoded_template(router: UrlDispatcher) -> None:
    router.add_get("/café/a b", H)
    assert router.resolve("GET", "/caf%C3%A9/a%20b").handler is H
    assert router.resolve("GET", "/caf%c3%a9/a%20b").handler is H


def test_encoded_slash_is_not_a_separator_for_plain_paths(router: UrlDispatcher) -> None:
    router.add_get("/a/b", H)
    assert router.resolve("GET", "/a%2Fb").status == 404
    assert router.resolve("GET", "/a%2fb").status == 404


def test_a_literal_percent_in_a_template_matches_its_encoding(router: UrlDispatcher) -> None:
    resource = router.add_get("/50%off", H).resource
    assert router.resolve("GET", "/50%25off").handler is H
    assert resource is not None
    assert resource.url_for() == "/50%25off"


def test_an_encoded_slash_in_a_template_matches_only_an_encoded_slash(
    router: UrlDispatcher,
) -> None:
    router.add_get("/a%2fb", H)
    assert router.resolve("GET", "/a%2Fb").handler is H
    assert router.resolve("GET", "/a/b").status == 404


def test_empty_path_is_the_prefix_itself(router: UrlDispatcher) -> None:
    router.add_get("", H)
    assert router.resolve("GET", "").handler is H


def test_path_must_start_with_a_slash(router: UrlDispatcher) -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        router.add_get("hello", H)


# -- methods ---------------------------------------------------------------------------------------


def test_get_also_serves_head_by_default(router: UrlDispatcher) -> None:
    get = router.add_get("/a", H)
    head = router.resolve("HEAD", "/a")
    assert head.handler is H
    assert head.route is not None
    assert head.route.method == "HEAD"
    assert router.resolve("GET", "/a").route is get


def test_get_without_allow_head_answers_head_with_405(router: UrlDispatcher) -> None:
    router.add_get("/a", H, allow_head=False)
    match = router.resolve("HEAD", "/a")
    assert (match.status, match.allowed, match.handler) == (405, frozenset({"GET"}), None)


def test_405_lists_every_method_of_the_path(router: UrlDispatcher) -> None:
    router.add_get("/a", H)
    router.add_post("/a", H2)
    router.add_delete("/a", H2)
    match = router.resolve("PUT", "/a")
    assert match.status == 405
    assert match.allowed == {"GET", "HEAD", "POST", "DELETE"}
    assert isinstance(match.allowed, frozenset)


def test_every_shortcut_registers_its_method(router: UrlDispatcher) -> None:
    router.add_head("/r", H)
    router.add_post("/r", H)
    router.add_put("/r", H)
    router.add_patch("/r", H)
    router.add_delete("/r", H)
    router.add_options("/r", H)
    router.add_route("PROPFIND", "/r", H)
    for method in ("HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"):
        match = router.resolve(method, "/r")
        assert match.route is not None
        assert match.route.method == method
    assert router.resolve("GET", "/r").status == 405


def test_methods_are_upper_cased_on_registration_and_case_sensitive_on_lookup(
    router: UrlDispatcher,
) -> None:
    route = router.add_route("post", "/a", H)
    assert route.method == "POST"
    assert router.resolve("POST", "/a").handler is H
    assert router.resolve("post", "/a").status == 405


@pytest.mark.parametrize("method", ["GE T", "", "GET\r\n", "(GET)"])
def test_invalid_method_token_is_refused(router: UrlDispatcher, method: str) -> None:
    with pytest.raises(ValueError, match="not a valid HTTP method"):
        router.add_route(method, "/a", H)


def test_same_method_twice_on_a_resource_is_refused(router: UrlDispatcher) -> None:
    router.add_post("/a", H)
    with pytest.raises(RuntimeError, match="method POST is already registered"):
        router.add_post("/a", H2)


def test_get_twice_is_refused_through_the_head_route(router: UrlDispatcher) -> None:
    router.add_get("/a", H)
    with pytest.raises(RuntimeError, match="never be executed"):
        router.add_get("/a", H2)


def test_star_route_answers_every_method(router: UrlDispatcher) -> None:
    router.add_route("*", "/any", H)
    for method in ("GET", "POST", "BREW"):
        assert router.resolve(method, "/any").handler is H


def test_a_method_route_beats_the_star_route_registered_after_it(router: UrlDispatcher) -> None:
    router.add_get("/a", H)
    router.add_route("*", "/a", H2)
    assert router.resolve("GET", "/a").handler is H
    assert router.resolve("POST", "/a").handler is H2


def test_nothing_can_be_added_after_a_star_route(router: UrlDispatcher) -> None:
    router.add_route("*", "/a", H)
    with pytest.raises(RuntimeError, match=r"method \* is already registered"):
        router.add_post("/a", H2)


def test_expect_handler_is_kept_on_both_get_and_head_routes(router: UrlDispatcher) -> None:
    expect = make_handler("expect")
    router.add_get("/a", H, expect_handler=expect)
    assert {route.expect_handler for route in router.routes()} == {expect}


# -- resources -------------------------------------------------------------------------------------


def test_adding_the_same_path_twice_reuses_the_resource(router: UrlDispatcher) -> None:
    get = router.add_get("/a", H, name="a")
    post = router.add_post("/a", H2)
    assert get.resource is post.resource
    assert len(router.resources()) == 1
    assert len(get.resource) == 3  # type: ignore[arg-type]


def test_a_differently_named_resource_on_the_same_path_takes_the_other_methods(
    router: UrlDispatcher,
) -> None:
    router.add_get("/a", H, name="first")
    router.add_post("/a", H2, name="second")
    assert router["first"] is not router["second"]
    assert router.resolve("GET", "/a").handler is H
    assert router.resolve("POST", "/a").handler is H2
    assert router.resolve("PUT", "/a").allowed == {"GET", "HEAD", "POST"}


def test_a_star_route_on_an_earlier_resource_shadows_later_ones(router: UrlDispatcher) -> None:
    router.add_route("*", "/a", H, name="first")
    router.add_post("/a", H2, name="second")
    assert router.resolve("POST", "/a").handler is H


def test_a_star_route_on_a_later_resource_answers_what_earlier_ones_lack(
    router: UrlDispatcher,
) -> None:
    router.add_get("/a", H, name="first")
    router.add_route("*", "/a", H2, name="second")
    router.add_post("/a", make_handler("never"), name="third")
    assert router.resolve("GET", "/a").handler is H
    assert router.resolve("POST", "/a").handler is H2


def test_a_resource_without_routes_is_404(router: UrlDispatcher) -> None:
    router.add_resource("/a")
    router.add_resource("/b/{x}")
    assert router.resolve("GET", "/a").status == 404
    assert router.resolve("GET", "/b/1").status == 404


def test_resource_iterates_over_its_routes(router: UrlDispatcher) -> None:
    resource = router.add_resource("/a")
    get = resource.add_route("GET", H)
    post = resource.add_route("POST", H2)
    assert list(resource) == [get, post]
    assert len(resource) == 2


def test_a_resource_made_outside_a_router_collects_routes(router: UrlDispatcher) -> None:
    resource = PlainResource("/alone")
    route = resource.add_route("GET", H)
    assert list(resource) == [route]
    assert router.resolve("GET", "/alone").status == 404


def test_plain_path_without_the_method_falls_through_to_a_parameter_route(
    router: UrlDispatcher,
) -> None:
    router.add_get("/users/me", H)
    router.add_post("/users/{id}", H2)
    assert router.resolve("POST", "/users/me").handler is H2
    assert router.resolve("PUT", "/users/me").allowed == {"GET", "HEAD", "POST"}


def test_canonical_forms(router: UrlDispatcher) -> None:
    assert router.add_resource("/a/b").canonical == "/a/b"
    assert router.add_resource(r"/u/{id:\d+}/{name}").canonical == "/u/{id}/{name}"


def test_reprs_name_the_pieces(router: UrlDispatcher) -> None:
    route = router.add_get("/a/{x}", H, name="named")
    assert repr(route.resource) == "<DynamicResource 'named' /a/{x}>"
    assert repr(router.add_resource("/p")) == "<PlainResource /p>"
    assert "ResourceRoute GET" in repr(route)


# -- parameters ------------------------------------------------------------------------------------


def test_parameter_segment_is_captured(router: UrlDispatcher) -> None:
    route = router.add_get("/users/{id}", H)
    match = router.resolve("GET", "/users/42")
    assert (match.status, match.route, info(match)) == (200, route, {"id": "42"})


@pytest.mark.parametrize("path", ["/users/", "/users", "/users/1/2", "/users/a{b"])
def test_default_parameter_needs_one_non_empty_brace_free_segment(
    router: UrlDispatcher, path: str
) -> None:
    router.add_get("/users/{id}", H)
    assert router.resolve("GET", path).status == 404


def test_parameter_values_are_url_decoded(router: UrlDispatcher) -> None:
    router.add_get("/f/{name}", H)
    assert info(router.resolve("GET", "/f/caf%C3%A9%20x")) == {"name": "café x"}
    assert info(router.resolve("GET", "/f/100%25")) == {"name": "100%"}
    assert info(router.resolve("GET", "/f/100%2525")) == {"name": "100%25"}


def test_encoded_slash_stays_inside_one_parameter(router: UrlDispatcher) -> None:
    router.add_get("/f/{a}/{b}", H2)
    router.add_get("/f/{name}", H)
    match = router.resolve("GET", "/f/a%2Fb")
    assert (match.handler, info(match)) == (H, {"name": "a/b"})
    assert info(router.resolve("GET", "/f/a%2fb%2F")) == {"name": "a/b/"}


def test_invalid_utf8_in_a_parameter_decodes_to_replacement_characters(
    router: UrlDispatcher,
) -> None:
    router.add_get("/f/{name}", H)
    assert info(router.resolve("GET", "/f/%FFa")) == {"name": "\ufffda"}


def test_regex_parameter(router: UrlDispatcher) -> None:
    router.add_get(r"/n/{id:\d+}", H)
    assert info(router.resolve("GET", "/n/123")) == {"id": "123"}
    assert router.resolve("GET", "/n/12a").status == 404


def test_regex_parameter_is_matched_against_the_decoded_segment(router: UrlDispatcher) -> None:
    router.add_get(r"/n/{id:\d+}", H)
    router.add_get("/w/{word:[a-zé]+}", H2)
    assert info(router.resolve("GET", "/n/%31%32")) == {"id": "12"}
    assert info(router.resolve("GET", "/w/caf%C3%A9")) == {"word": "café"}


def test_regex_with_a_brace_quantifier(router: UrlDispatcher) -> None:
    router.add_get(r"/y/{year:\d{4}}", H)
    assert router.resolve("GET", "/y/2024").status == 200
    assert router.resolve("GET", "/y/24").status == 404


def test_regex_with_alternation_and_its_own_groups(router: UrlDispatcher) -> None:
    router.add_get("/k/{kind:cat|dog}/{rep:(ab)+}", H)
    assert info(router.resolve("GET", "/k/dog/abab")) == {"kind": "dog", "rep": "abab"}
    assert router.resolve("GET", "/k/cow/ab").status == 404


def test_parameters_inside_a_segment(router: UrlDispatcher) -> None:
    router.add_get("/files/{name}.{ext}", H)
    router.add_get(r"/v{major:\d+}.{minor:\d+}/x", H2)
    assert info(router.resolve("GET", "/files/report.pdf")) == {"name": "report", "ext": "pdf"}
    assert info(router.resolve("GET", "/files/a.tar.gz")) == {"name": "a.tar", "ext": "gz"}
    assert router.resolve("GET", "/files/noext").status == 404
    assert info(router.resolve("GET", "/v1.22/x")) == {"major": "1", "minor": "22"}


def test_several_parameters_and_literals(router: UrlDispatcher) -> None:
    router.add_get("/o/{org}/repos/{repo}/issues/{n:int}", H)
    match = router.resolve("GET", "/o/acme/repos/ketch/issues/7")
    assert info(match) == {"org": "acme", "repo": "ketch", "n": "7"}
    assert match.params == {"org": "acme", "repo": "ketch", "n": 7}


def test_a_literal_segment_beats_a_parameter(router: UrlDispatcher) -> None:
    router.add_get("/a/{x}", H)
    router.add_get("/a/b/", H2)  # plain
    router.add_get("/c/{x}/d", H)
    router.add_get("/c/lit/{y}", H2)
    assert router.resolve("GET", "/c/lit/d").handler is H2
    assert router.resolve("GET", "/c/other/d").handler is H


def test_a_failed_literal_branch_backtracks_to_the_parameter(router: UrlDispatcher) -> None:
    router.add_get("/a/{x}/c", H)
    router.add_get("/a/b/{y}/d", H2)
    match = router.resolve("GET", "/a/b/c")
    assert (match.handler, info(match)) == (H, {"x": "b"})


def test_backtracking_climbs_back_past_several_literal_levels(router: UrlDispatcher) -> None:
    router.add_get("/{p}/b/x", H)
    router.add_get("/a/{q}/y", H2)
    router.add_get("/a/b/{r}/z", H2)
    match = router.resolve("GET", "/a/b/x")
    assert (match.handler, info(match)) == (H, {"p": "a"})
    assert router.resolve("GET", "/a/b/q").status == 404


def test_parameters_at_one_position_are_tried_in_registration_order(
    router: UrlDispatcher,
) -> None:
    router.add_get(r"/p/{num:\d+}", H)
    router.add_get("/p/{any}", H2)
    router.add_get("/q/{any}", H2)
    router.add_get(r"/q/{num:\d+}", H)
    assert router.resolve("GET", "/p/1").handler is H
    assert router.resolve("GET", "/p/x").handler is H2
    assert router.resolve("GET", "/q/1").handler is H2


def test_a_parameter_template_shared_by_two_routes(router: UrlDispatcher) -> None:
    router.add_get("/u/{id}", H)
    router.add_get("/u/{id}/posts", H2)
    assert router.resolve("GET", "/u/3").handler is H
    assert info(router.resolve("GET", "/u/3/posts")) == {"id": "3"}


def test_parameter_path_without_the_method_goes_on_to_the_next_candidate(
    router: UrlDispatcher,
) -> None:
    router.add_get("/i/{id}", H)
    router.add_post(r"/i/{num:\d+}", H2)
    assert router.resolve("POST", "/i/5").handler is H2
    match = router.resolve("POST", "/i/x")
    assert (match.status, match.allowed) == (405, frozenset({"GET", "HEAD"}))
    assert router.resolve("PUT", "/i/5").allowed == {"GET", "HEAD", "POST"}


def test_two_resources_with_the_same_template_are_both_candidates(
    router: UrlDispatcher,
) -> None:
    router.add_get("/i/{id}", H, name="reader")
    router.add_post("/i/{id}", H2, name="writer")
    assert router.resolve("POST", "/i/1").handler is H2
    assert router.add_resource("/i/{id}") is router["writer"]


def test_a_regex_that_can_match_a_slash_spans_segments_like_aiohttp(
    router: UrlDispatcher,
) -> None:
    router.add_get("/core/locations{tail:.*}", H)
    router.add_get("/n/{rest:[^a]+}", H2)
    assert info(router.resolve("GET", "/core/locations/x/y")) == {"tail": "/x/y"}
    assert info(router.resolve("GET", "/core/locations")) == {"tail": ""}
    assert info(router.resolve("GET", "/n/b/c")) == {"rest": "b/c"}
    assert router.resolve("GET", "/n/b/a").status == 404


def test_a_segment_regex_never_matches_across_a_slash(router: UrlDispatcher) -> None:
    router.add_get(r"/s/{x:[\w.-]+}", H)
    assert router.resolve("GET", "/s/a.b").status == 200
    assert router.resolve("GET", "/s/a/b").status == 404


def test_spanning_parameter_followed_by_more_template(router: UrlDispatcher) -> None:
    router.add_get("/t/{a}/{p:path}/edit", H)
    router.add_get("/t/{a}/{p:path}/view", H2)
    match = router.resolve("GET", "/t/x/d/e%20f/view")
    assert (match.handler, info(match)) == (H2, {"a": "x", "p": "d/e f"})
    assert router.resolve("POST", "/t/x/d/edit").allowed == {"GET", "HEAD"}
    assert router.resolve("GET", "/t/x/d/nope").status == 404


def test_two_resources_with_the_same_spanning_template_are_both_candidates(
    router: UrlDispatcher,
) -> None:
    router.add_get("/c{tail:.*}", H, name="reader")
    router.add_post("/c{tail:.*}", H2, name="writer")
    assert router.resolve("POST", "/c/x").handler is H2
    assert router.resolve("PUT", "/c/x").allowed == {"GET", "HEAD", "POST"}


def test_path_parameter_takes_the_rest_including_slashes(router: UrlDispatcher) -> None:
    router.add_get("/files/{p:path}", H)
    assert info(router.resolve("GET", "/files/a/b/c.txt")) == {"p": "a/b/c.txt"}
    assert info(router.resolve("GET", "/files/")) == {"p": ""}
    assert router.resolve("GET", "/files").status == 404


# -- typed parameters ------------------------------------------------------------------------------


def test_typed_parameters_keep_str_in_match_info_and_convert_in_params(
    router: UrlDispatcher,
) -> None:
    router.add_get("/i/{n:int}/{f:float}/{u:uuid}/{s:str}", H)
    ident = uuid.uuid4()
    match = router.resolve("GET", f"/i/42/1.5/{ident}/x")
    assert info(match) == {"n": "42", "f": "1.5", "u": str(ident), "s": "x"}
    assert match.params == {"n": 42, "f": 1.5, "u": ident, "s": "x"}


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("/i/{n:int}", "/i/-1"),
        ("/i/{n:int}", "/i/1.5"),
        ("/i/{n:int}", "/i/%D9%A1"),  # ARABIC-INDIC DIGIT ONE: \d would take it, int doesn't
        ("/f/{x:float}", "/f/1."),
        ("/u/{x:uuid}", "/u/1234"),
    ],
)
def test_typed_parameters_refuse_other_text(
    router: UrlDispatcher, template: str, path: str
) -> None:
    router.add_get(template, H)
    assert router.resolve("GET", path).status == 404


def test_params_is_match_info_when_nothing_is_typed(router: UrlDispatcher) -> None:
    router.add_get("/u/{id}", H)
    router.add_get("/plain", H)
    match = router.resolve("GET", "/u/1")
    assert match.params is match.match_info
    plain = router.resolve("GET", "/plain")
    assert plain.params is plain.match_info


# -- template errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("/a/{id", "unbalanced brace"),
        ("/a/id}", "unbalanced brace"),
        ("/a/{}", "unbalanced brace"),
        ("/a/{1x}", "unbalanced brace"),
        ("/a/{x-y}", "bad parameter name 'x-y'"),
        ("/a/{x}/{x}", "duplicate parameter 'x'"),
        ("/a/{x:(}", r"Bad pattern '\(' for \{x\} in path '/a/\{x:\(\}'"),
        ("/a/{x:[a-z}", "Bad pattern"),
        ("/a/{x:(?P<_0>a)}", r"Bad pattern in path '/a/\{x:\(\?P<_0>a\)\}'"),
        ("/a/{x:(?P<_0>.*)}", "Bad pattern in path"),
    ],
)
def test_bad_templates_are_refused_naming_the_route(
    router: UrlDispatcher, template: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        router.add_get(template, H)


@pytest.mark.parametrize(
    ("regex", "stays"),
    [
        (r"\d+", True),
        (r"[^/]+", True),
        (r"[^\/]+", True),
        (r"[a-z0-9_.-]+", True),
        (r"[]a]", True),
        (r"[\-a]+", True),
        (r"(?:ab|cd)(?P<n>x)\.y{2,3}", True),
        (r"\w\s\-", True),
        (r".+", False),
        (r"a/b", False),
        (r"\/", False),
        (r"\D", False),
        (r"\x2f", False),
        (r"a\\", True),
        ("a\\", False),
        (r"[^a]", False),
        (r"[/]", False),
        (r"[\/]", False),
        (r"[\W]", False),
        (r"[+-0]", False),
        (r"[\.-z]", False),
        (r"[abc", False),
        (r"^a", False),
        (r"a$", False),
        (r"(?=a)a", False),
        (r"(?<!a)b", False),
        (r"(a)(?(1)b|c)", False),
        (r"(?P<n>a)(?P=n)", False),
    ],
)
def test_segment_regex_classification_errs_on_the_spanning_side(regex: str, stays: bool) -> None:
    assert routing._stays_in_segment(regex) is stays


# -- url_for ---------------------------------------------------------------------------------------


def test_url_for_plain_and_dynamic(router: UrlDispatcher) -> None:
    router.add_get("/", H, name="index")
    router.add_get("/users/{id:int}/{name}", H, name="user")
    assert router["index"].url_for() == "/"
    assert router["user"].url_for(id=5, name="ann") == "/users/5/ann"


def test_url_for_quotes_every_reserved_character(router: UrlDispatcher) -> None:
    router.add_get("/f/{name}", H, name="f")
    assert router["f"].url_for(name="a b/c?d#e%f&é") == "/f/a%20b%2Fc%3Fd%23e%25f%26%C3%A9"


def test_url_for_round_trips_through_resolve(router: UrlDispatcher) -> None:
    router.add_get("/f/{name}/{p:path}", H, name="f")
    values = {"name": "a/b %2F é", "p": "x y/z%"}
    url = router["f"].url_for(**values)
    assert url == "/f/a%2Fb%20%252F%20%C3%A9/x%20y/z%25"
    assert info(router.resolve("GET", url)) == values


def test_url_for_keeps_slashes_of_spanning_parameters(router: UrlDispatcher) -> None:
    router.add_get("/core{tail:.*}", H, name="core")
    router.add_get("/n/{rest:[^a]+}", H, name="n")
    assert router["core"].url_for(tail="/a b/c") == "/core/a%20b/c"
    assert router["n"].url_for(rest="b/c") == "/n/b/c"


def test_url_for_quotes_the_slash_when_a_spanning_pattern_wants_it(
    router: UrlDispatcher,
) -> None:
    router.add_get("/n/{x:[^a/]+|a%2Fb}", H, name="n")  # misjudged as spanning; still correct
    assert router["n"].url_for(x="a/b") == "/n/a%2Fb"
    assert info(router.resolve("GET", "/n/a%2Fb")) == {"x": "a/b"}


def test_url_for_quotes_literal_parts_of_the_template(router: UrlDispatcher) -> None:
    router.add_get("/café/{x}", H, name="c")
    router.add_get("/a b", H, name="p")
    assert router["c"].url_for(x="1") == "/caf%C3%A9/1"
    assert router["p"].url_for() == "/a%20b"


def test_url_for_refuses_a_value_its_pattern_would_not_match(router: UrlDispatcher) -> None:
    router.add_get("/n/{id:int}", H, name="n")
    with pytest.raises(ValueError, match=r"Value '-3' of \{id\} does not match"):
        router["n"].url_for(id=-3)


def test_url_for_missing_and_extra_parts(router: UrlDispatcher) -> None:
    router.add_get("/n/{id}", H, name="n")
    router.add_get("/p", H, name="p")
    with pytest.raises(KeyError, match="id"):
        router["n"].url_for()
    with pytest.raises(ValueError, match=r"Unknown parts \['other'\]"):
        router["n"].url_for(id="1", other="2")
    with pytest.raises(ValueError, match="Unknown parts"):
        router["p"].url_for(x="1")


def test_route_url_for_delegates_to_its_resource(router: UrlDispatcher) -> None:
    route = router.add_get("/n/{id}", H, name="n")
    assert route.name == "n"
    assert route.url_for(id="7") == "/n/7"


def test_a_route_without_resource_has_no_name_and_no_url(router: UrlDispatcher) -> None:
    route = AbstractRoute("GET", H, None)
    assert route.name is None
    with pytest.raises(RuntimeError, match="no resource"):
        route.url_for()


# -- names and the mapping -------------------------------------------------------------------------


def test_router_is_a_mapping_of_names(router: UrlDispatcher) -> None:
    a = router.add_get("/a", H, name="a").resource
    b = router.add_get("/b/{x}", H, name="api.v1:b-x").resource
    router.add_get("/c", H)
    assert router["a"] is a
    assert "api.v1:b-x" in router
    assert "c" not in router
    assert len(router) == 2
    assert list(router) == ["a", "api.v1:b-x"]
    assert dict(router.named_resources()) == {"a": a, "api.v1:b-x": b}
    with pytest.raises(TypeError):
        router.named_resources()["z"] = a  # type: ignore[index]
    assert len(router.resources()) == 3
    assert len(router.routes()) == 6


@pytest.mark.parametrize("name", ["class", "a b", "1a", "a..b", "a/b", ""])
def test_bad_route_names_are_refused(router: UrlDispatcher, name: str) -> None:
    with pytest.raises(ValueError, match="Incorrect route name"):
        router.add_get("/a", H, name=name)


def test_duplicate_route_name_is_refused(router: UrlDispatcher) -> None:
    router.add_get("/a", H, name="a")
    with pytest.raises(ValueError, match="Duplicate route name 'a'"):
        router.add_get("/b", H, name="a")


# -- views -----------------------------------------------------------------------------------------


def test_view_is_registered_for_every_method_and_flagged(router: UrlDispatcher) -> None:
    route = router.add_view("/v", AView, name="v")
    assert (route.method, route.is_view, route.handler) == ("*", True, AView)
    match = router.resolve("PATCH", "/v")
    assert match.handler is AView
    assert match.route is not None
    assert match.route.is_view
    assert not router.add_get("/f", H).is_view


def test_view_must_be_a_class(router: UrlDispatcher) -> None:
    with pytest.raises(TypeError, match="must be a class"):
        router.add_view("/v", H)  # type: ignore[arg-type]


# -- static files ----------------------------------------------------------------------------------


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    (tmp_path / "app.js").write_text("console.log(1)\n")
    (tmp_path / "sub").mkdir()
    return tmp_path


def test_static_prefix_matches_every_path_below_it(router: UrlDispatcher, static_dir: Path) -> None:
    resource = router.add_static("/static/", static_dir, name="static")
    match = router.resolve("GET", "/static/sub/a%20b.css")
    assert isinstance(match.resource, StaticResource)
    assert match.resource is resource
    assert (match.status, match.handler, info(match)) == (200, None, {"filename": "sub/a b.css"})
    assert match.route is not None
    assert match.route.method == "GET"
    assert router.resolve("HEAD", "/static/app.js").route.method == "HEAD"  # type: ignore[union-attr]
    assert resource.directory == static_dir.resolve()
    assert (resource.show_index, resource.follow_symlinks, resource.append_version) == (
        False,
        False,
        False,
    )
    assert resource.canonical == "/static"


def test_static_prefix_itself_gives_an_empty_filename(
    router: UrlDispatcher, static_dir: Path
) -> None:
    router.add_static("/static", static_dir)
    assert info(router.resolve("GET", "/static")) == {"filename": ""}
    assert info(router.resolve("GET", "/static/")) == {"filename": ""}
    assert router.resolve("GET", "/staticx").status == 404
    assert router.resolve("GET", "/stat").status == 404


@pytest.mark.parametrize(
    ("path", "filename"),
    [
        ("/static/../secret", "../secret"),
        ("/static/%2E%2E/secret", "../secret"),
        ("/static/a/..%2F..%2Fsecret", "a/../../secret"),
        ("/static//etc/passwd", "/etc/passwd"),
        ("/static/a%00b", "a\x00b"),
    ],
)
def test_static_filename_is_passed_through_for_the_file_resolver_to_refuse(
    router: UrlDispatcher, static_dir: Path, path: str, filename: str
) -> None:
    router.add_static("/static", static_dir)
    assert info(router.resolve("GET", path)) == {"filename": filename}


def test_static_answers_other_methods_with_405(router: UrlDispatcher, static_dir: Path) -> None:
    router.add_static("/static", static_dir)
    match = router.resolve("POST", "/static/app.js")
    assert (match.status, match.allowed) == (405, frozenset({"GET", "HEAD"}))


def test_static_options_route(router: UrlDispatcher, static_dir: Path) -> None:
    resource = router.add_static("/static", static_dir)
    resource.set_options_route(H)
    assert router.resolve("OPTIONS", "/static/x").handler is H
    assert router.resolve("PUT", "/static/x").allowed == {"GET", "HEAD", "OPTIONS"}
    with pytest.raises(RuntimeError, match="OPTIONS route was set already"):
        resource.set_options_route(H)


def test_static_at_the_root_catches_everything_else(
    router: UrlDispatcher, static_dir: Path
) -> None:
    router.add_get("/api", H)
    router.add_static("/", static_dir)
    assert router.resolve("GET", "/api").handler is H
    assert info(router.resolve("GET", "/index.html")) == {"filename": "index.html"}
    assert info(router.resolve("GET", "/")) == {"filename": ""}


def test_routes_under_a_static_prefix(router: UrlDispatcher, static_dir: Path) -> None:
    router.add_static("/s", static_dir)
    router.add_get("/s/special", H)  # a plain path is looked up first
    router.add_get("/s/{x}/deep", H2)  # registered after the prefix: never reached
    assert router.resolve("GET", "/s/special").handler is H
    assert router.resolve("GET", "/s/a/deep").handler is None
    assert router.resolve("POST", "/s/a/deep").allowed == {"GET", "HEAD"}


def test_static_options_are_kept(router: UrlDispatcher, static_dir: Path) -> None:
    expect = make_handler("expect")
    resource = router.add_static(
        "/s",
        static_dir,
        show_index=True,
        follow_symlinks=True,
        append_version=True,
        chunk_size=1024,
        expect_handler=expect,
    )
    assert (resource.show_index, resource.follow_symlinks, resource.append_version) == (
        True,
        True,
        True,
    )
    assert resource.options == {"chunk_size": 1024}
    assert [(r.method, r.expect_handler, r.handler) for r in resource] == [
        ("GET", expect, None),
        ("HEAD", expect, None),
    ]
    assert len(resource) == 2


def test_static_refuses_a_missing_directory_or_a_file(
    router: UrlDispatcher, static_dir: Path
) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        router.add_static("/s", static_dir / "missing")
    with pytest.raises(ValueError, match="is not a directory"):
        router.add_static("/s", static_dir / "app.js")


@pytest.mark.parametrize(
    ("prefix", "message"),
    [("static", "must start with '/'"), ("/s/{x}", "cannot hold parameters")],
)
def test_static_prefix_errors(
    router: UrlDispatcher, static_dir: Path, prefix: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        router.add_static(prefix, static_dir)


def test_static_url_for(router: UrlDispatcher, static_dir: Path) -> None:
    resource = router.add_static("/static", static_dir, name="static")
    assert resource.url_for(filename="sub/a b.css") == "/static/sub/a%20b.css"
    assert resource.url_for(filename=Path("/app.js")) == "/static/app.js"


def test_static_url_for_appends_the_content_hash(router: UrlDispatcher, static_dir: Path) -> None:
    resource = router.add_static("/static", static_dir, append_version=True)
    digest = hashlib.sha256((static_dir / "app.js").read_bytes()).digest()
    version = base64.urlsafe_b64encode(digest).decode()
    assert resource.url_for(filename="app.js") == f"/static/app.js?v={version}"
    assert resource.url_for(filename="app.js", append_version=False) == "/static/app.js"
    assert resource.url_for(filename="missing.js") == "/static/missing.js"
    assert resource.url_for(filename="../escape.js") == "/static/../escape.js"
    assert resource.url_for(filename="sub") == "/static/sub"  # a directory: no version


def test_static_url_for_versions_on_request(router: UrlDispatcher, static_dir: Path) -> None:
    resource = router.add_static("/static", static_dir)
    assert "?v=" in resource.url_for(filename="app.js", append_version=True)


# -- sub-applications ------------------------------------------------------------------------------


def test_subapp_resolves_the_rest_of_the_path(router: UrlDispatcher) -> None:
    admin = App()
    admin.router.add_get("/users/{id}", H, name="user")
    router.add_subapp_resource("/admin", admin)
    match = router.resolve("GET", "/admin/users/%C3%A9")
    assert (match.status, match.handler, info(match)) == (200, H, {"id": "é"})
    assert match.apps == (admin,)
    assert match.resource is admin.router["user"]


def test_subapp_plain_route_and_its_own_prefix(router: UrlDispatcher) -> None:
    admin = App()
    admin.router.add_get("", H)
    admin.router.add_get("/", H2)
    resource = router.add_subapp_resource("/admin/", admin)
    assert isinstance(resource, PrefixedSubAppResource)
    assert resource.canonical == "/admin"
    assert router.resolve("GET", "/admin").handler is H
    assert router.resolve("GET", "/admin/").handler is H2
    assert router.resolve("GET", "/adminx").status == 404


def test_subapp_decides_404_and_405_and_reports_itself(router: UrlDispatcher) -> None:
    admin = App()
    admin.router.add_get("/a", H)
    router.add_subapp_resource("/admin", admin)
    router.add_get("/admin/{x}/y", H2)  # after the sub-app: its verdict comes first
    missing = router.resolve("GET", "/admin/b/y")
    assert (missing.status, missing.apps) == (404, (admin,))
    refused = router.resolve("POST", "/admin/a")
    assert (refused.status, refused.allowed, refused.apps) == (
        405,
        frozenset({"GET", "HEAD"}),
        (admin,),
    )


def test_parent_routes_registered_before_or_below_the_prefix_win(router: UrlDispatcher) -> None:
    admin = App()
    admin.router.add_get("/{x}", H)
    router.add_get("/admin/login", H2)  # plain path
    router.add_get("/admin/users/{id}", H2)  # longer literal prefix
    router.add_subapp_resource("/admin", admin)
    assert router.resolve("GET", "/admin/login").apps == ()
    assert router.resolve("GET", "/admin/users/1").handler is H2
    assert router.resolve("GET", "/admin/other").apps == (admin,)


def test_nested_subapps_record_the_chain_outermost_first(router: UrlDispatcher) -> None:
    outer, inner = App(), App()
    inner.router.add_get("/x/{id}", H, name="x")
    outer.router.add_subapp_resource("/b", inner)
    router.add_subapp_resource("/a", outer)
    match = router.resolve("GET", "/a/b/x/1")
    assert (match.handler, match.apps, info(match)) == (H, (outer, inner), {"id": "1"})
    assert inner.router["x"].url_for(id="1") == "/a/b/x/1"
    assert inner.router["x"].canonical == "/a/b/x/{id}"
    assert router.resolve("GET", "/a/b/nope").apps == (outer, inner)


def test_url_for_includes_prefixes_whatever_the_mounting_order(router: UrlDispatcher) -> None:
    outer, inner = App(), App()
    outer.router.add_get("/o", H, name="o")
    router.add_subapp_resource("/a", outer)
    outer.router.add_get("/late", H, name="late")  # added after mounting
    outer.router.add_subapp_resource("/b", inner)  # mounted after the parent was mounted
    inner.router.add_get("/i", H, name="i")
    assert outer.router["o"].url_for() == "/a/o"
    assert outer.router["late"].url_for() == "/a/late"
    assert inner.router["i"].url_for() == "/a/b/i"
    assert router.resolve("GET", "/a/b/i").apps == (outer, inner)


def test_subapp_url_for_quotes_its_prefix(router: UrlDispatcher, static_dir: Path) -> None:
    sub = App()
    sub.router.add_get("/x/{y}", H, name="x")
    sub.router.add_static("/s", static_dir, name="s")
    router.add_subapp_resource("/caf%C3%A9", sub)
    assert sub.router["x"].url_for(y="1") == "/caf%C3%A9/x/1"
    assert sub.router["s"].url_for(filename="a.js") == "/caf%C3%A9/s/a.js"
    assert router.resolve("GET", "/café/x/1").apps == (sub,)
    assert info(router.resolve("GET", "/caf%C3%A9/s/a%2Fb")) == {"filename": "a/b"}


def test_subapp_root_has_no_url_and_iterates_over_the_subapp_routes(
    router: UrlDispatcher,
) -> None:
    sub = App()
    get = sub.router.add_get("/x", H)
    resource = router.add_subapp_resource("/sub", sub)
    with pytest.raises(RuntimeError, match="not supported by sub-application root"):
        resource.url_for()
    assert len(resource) == 2
    assert get in list(resource)
    assert get in router.routes()


@pytest.mark.parametrize(
    ("prefix", "message"),
    [("", "must start with '/'"), ("/", "cannot be empty"), ("/{x}", "cannot hold parameters")],
)
def test_subapp_prefix_errors(router: UrlDispatcher, prefix: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        router.add_subapp_resource(prefix, App())


def test_subapp_needs_a_router(router: UrlDispatcher) -> None:
    with pytest.raises(TypeError, match="no UrlDispatcher"):
        router.add_subapp_resource("/x", object())


# -- freezing --------------------------------------------------------------------------------------


def test_frozen_router_refuses_every_registration(router: UrlDispatcher, static_dir: Path) -> None:
    resource = router.add_resource("/a")
    router.add_get("/b", H)
    assert UrlDispatcher().frozen is False
    router.freeze()
    assert router.frozen
    message = "Cannot register a resource into frozen router"
    with pytest.raises(RuntimeError, match=message):
        router.add_get("/c", H)
    with pytest.raises(RuntimeError, match=message):
        router.add_resource("/d/{x}")
    with pytest.raises(RuntimeError, match=message):
        resource.add_route("GET", H)
    with pytest.raises(RuntimeError, match=message):
        router.add_static("/s", static_dir)
    with pytest.raises(RuntimeError, match=message):
        router.add_subapp_resource("/sub", App())
    assert router.resolve("GET", "/b").handler is H


# -- trailing slash and other alternatives ---------------------------------------------------------


def test_alternative_adds_or_removes_the_trailing_slash(router: UrlDispatcher) -> None:
    router.add_get("/a", H)
    router.add_get("/b/", H)
    router.add_get("/u/{id}", H)
    assert router.resolve_alternative("GET", "/a/") == "/a"
    assert router.resolve_alternative("GET", "/b") == "/b/"
    assert router.resolve_alternative("GET", "/u/1/") == "/u/1"
    assert router.resolve_alternative("GET", "/c") is None
    assert router.resolve_alternative("GET", "/") is None
    assert router.resolve_alternative("GET", "/a/", remove_slash=False) is None
    assert router.resolve_alternative("GET", "/b", append_slash=False) is None


def test_alternative_must_resolve_to_a_route_not_a_405(router: UrlDispatcher) -> None:
    router.add_post("/a", H)
    assert router.resolve_alternative("GET", "/a/") is None
    assert router.resolve_alternative("POST", "/a/") == "/a"


def test_alternative_merges_slashes_on_request(router: UrlDispatcher) -> None:
    router.add_get("/a/b", H)
    router.add_get("/c/d/", H)
    assert router.resolve_alternative("GET", "/a//b") is None
    assert router.resolve_alternative("GET", "/a//b", merge_slashes=True) == "/a/b"
    assert router.resolve_alternative("GET", "/a//b//", merge_slashes=True) == "/a/b"
    assert router.resolve_alternative("GET", "/c//d", merge_slashes=True) == "/c/d/"


def test_alternative_never_starts_with_two_slashes(router: UrlDispatcher) -> None:
    router.add_get("/evil.com", H)
    assert router.resolve_alternative("GET", "//evil.com/") == "/evil.com"


# -- route definitions -----------------------------------------------------------------------------


def test_module_level_route_definitions_register(router: UrlDispatcher, static_dir: Path) -> None:
    defs = [
        routing.get("/g", H, name="g"),
        routing.get("/nohead", H, allow_head=False),
        routing.head("/h", H),
        routing.post("/p", H),
        routing.put("/p", H),
        routing.patch("/p", H),
        routing.delete("/p", H),
        routing.options("/p", H),
        routing.route("LOCK", "/p", H),
        routing.route("get", "/lower", H),
        routing.view("/v", AView),
        routing.static("/s", static_dir, name="s"),
    ]
    routes = router.add_routes(defs)
    assert [r.method for r in routes] == [
        "GET",
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "OPTIONS",
        "LOCK",
        "GET",
        "*",
        "GET",
        "HEAD",
    ]
    assert router.resolve("HEAD", "/g").handler is H
    assert router.resolve("HEAD", "/lower").handler is H
    assert router.resolve("HEAD", "/nohead").status == 405
    assert router.resolve("GET", "/v").route.is_view  # type: ignore[union-attr]
    assert isinstance(router["s"], StaticResource)


def test_route_definitions_are_frozen_values() -> None:
    definition = routing.post("/p", H, name="p")
    assert definition == RouteDef("POST", "/p", H, {"name": "p"})
    assert isinstance(routing.static("/s", "."), StaticDef)
    with pytest.raises(AttributeError):
        definition.path = "/q"  # type: ignore[misc]


def test_route_table_decorators_register_and_return_the_handler(
    router: UrlDispatcher, static_dir: Path
) -> None:
    routes = RouteTableDef()

    @routes.get("/", name="index")
    async def index(request: Any) -> None: ...

    @routes.post("/items")
    async def create(request: Any) -> None: ...

    @routes.put("/items/{id}")
    @routes.patch("/items/{id}")
    @routes.delete("/items/{id}")
    async def change(request: Any) -> None: ...

    @routes.head("/h")
    @routes.options("/h")
    @routes.route("REPORT", "/h")
    async def misc(request: Any) -> None: ...

    @routes.view("/view")
    class ItemView(AView):
        pass

    routes.static("/static", static_dir)

    assert callable(index)
    assert ItemView.__name__ == "ItemView"
    assert len(routes) == 10
    first = routes[0]
    assert isinstance(first, RouteDef)
    assert first.handler is index
    assert len(routes[1:3]) == 2
    assert routes[-1] in routes
    assert repr(routes) == "<RouteTableDef count=10>"
    router.add_routes(routes)
    assert router.resolve("HEAD", "/").handler is index
    assert router["index"].url_for() == "/"
    assert router.resolve("PATCH", "/items/1").handler is change
    assert router.resolve("REPORT", "/h").handler is misc
    assert router.resolve("DELETE", "/view").handler is ItemView
    assert router.resolve("GET", "/static/app.js").status == 200


# -- scale -----------------------------------------------------------------------------------------


def test_five_hundred_parameter_routes_resolve_correctly(router: UrlDispatcher) -> None:
    handlers = {}
    for i in range(500):
        handlers[i] = make_handler(f"h{i}")
        if i % 3 == 0:
            router.add_get(f"/api/v{i % 7}/res{i}/{{id}}/items/{{item:int}}", handlers[i])
        elif i % 3 == 1:
            router.add_route("*", f"/r{i}/{{name}}.{{ext}}", handlers[i])
        else:
            router.add_post(f"/{{tenant}}/t{i}/{{rest:path}}", handlers[i])
    for i in range(500):
        if i % 3 == 0:
            match = router.resolve("GET", f"/api/v{i % 7}/res{i}/x{i}/items/{i}")
            assert info(match) == {"id": f"x{i}", "item": str(i)}
            assert match.params["item"] == i
        elif i % 3 == 1:
            match = router.resolve("PUT", f"/r{i}/file{i}.txt")
            assert info(match) == {"name": f"file{i}", "ext": "txt"}
        else:
            match = router.resolve("POST", f"/acme/t{i}/a/b%2Fc")
            assert info(match) == {"tenant": "acme", "rest": "a/b/c"}
        assert match.handler is handlers[i]
    assert router.resolve("GET", "/api/v0/res0/x/items/notint").status == 404
    assert router.resolve("GET", "/acme/t2/a").allowed == {"POST"}
    assert router.resolve("GET", "/r1/noext").status == 404


def test_five_hundred_plain_routes_are_one_dict(router: UrlDispatcher) -> None:
    for i in range(500):
        router.add_get(f"/p/{i}", make_handler(f"p{i}"), name=f"p{i}")
    assert len(router._plain) == 500
    assert router._root.static == {}  # nothing in the trie
    for i in range(500):
        match = router.resolve("GET", f"/p/{i}")
        assert match.handler.__name__ == f"p{i}"  # type: ignore[union-attr]
        assert router[f"p{i}"].url_for() == f"/p/{i}"


def test_resource_classes(router: UrlDispatcher) -> None:
    assert isinstance(router.add_resource("/a"), PlainResource)
    assert isinstance(router.add_resource("/a/{b}"), DynamicResource)
    assert all(isinstance(r, ResourceRoute) for r in router.routes())
