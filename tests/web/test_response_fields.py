"""Response objects on their own (no socket): status, headers, content type, dates, cookies."""

from __future__ import annotations

import datetime
from collections.abc import MutableMapping

import pytest

from ketch import web


def test_status_and_reason_can_change_before_prepare() -> None:
    response = web.Response(text="x")
    assert (response.status, response.reason) == (200, "OK")
    response.set_status(418, "Short and stout")
    assert (response.status, response.reason) == (418, "Short and stout")
    assert web.StreamResponse(status=599).reason == ""


def test_lazy_headers_carry_the_content_type_once_looked_at() -> None:
    response = web.Response(text="hi")
    assert response.content_type == "text/plain"
    assert response.charset == "utf-8"
    response.headers["X-Extra"] = "1"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers.getall("Content-Type") == ["text/plain; charset=utf-8"]


@pytest.mark.parametrize("lazy", [True, False])
def test_content_type_and_charset_setters_keep_each_other(lazy: bool) -> None:
    response = web.Response(body=b"{}", content_type="application/json")
    if not lazy:
        _ = response.headers
    response.charset = "UTF-8"
    assert response.content_type == "application/json"
    assert response.charset == "utf-8"
    response.content_type = "application/problem+json"
    assert response.charset == "utf-8"
    response.charset = None
    assert response.charset is None
    assert response.content_type == "application/problem+json"


def test_a_charset_needs_a_content_type_and_unset_type_reads_as_octet_stream() -> None:
    response = web.StreamResponse()
    assert response.content_type == "application/octet-stream"
    assert response.charset is None
    with pytest.raises(RuntimeError):
        response.charset = "utf-8"
    response.headers["Content-Type"] = "text/html; foo=bar"
    assert response.charset is None


def test_content_length_and_chunked_exclude_each_other() -> None:
    response = web.StreamResponse()
    assert response.content_length is None
    response.content_length = 10
    assert response.content_length == 10
    with pytest.raises(RuntimeError):
        response.enable_chunked_encoding()
    response.content_length = None
    response.enable_chunked_encoding()
    with pytest.raises(RuntimeError):
        response.content_length = 5
    declared = web.StreamResponse(headers={"Content-Length": "7"})
    assert declared.content_length == 7
    declared.content_length = 8
    assert "Content-Length" not in declared.headers
    assert declared.content_length == 8


def test_a_whole_response_length_is_its_body() -> None:
    response = web.Response(body=b"abc")
    assert response.content_length == 3
    with pytest.raises(RuntimeError):
        response.content_length = 4
    response.body = b"abcd"
    assert response.content_length == 4
    response.body = None
    assert response.body == b""


def test_last_modified_accepts_timestamps_datetimes_and_strings() -> None:
    response = web.StreamResponse()
    assert response.last_modified is None
    response.last_modified = 0
    assert response.headers["Last-Modified"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    moment = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.UTC)
    response.last_modified = moment
    assert response.last_modified == moment
    response.last_modified = "not a date"
    assert response.last_modified is None
    response.last_modified = None
    assert "Last-Modified" not in response.headers


def test_etag_quoting_and_weak_tags() -> None:
    response = web.StreamResponse()
    assert response.etag is None
    response.etag = "abc"
    assert response.headers["ETag"] == '"abc"'
    assert response.etag == "abc"
    response.etag = 'W/"v1"'
    assert response.headers["ETag"] == 'W/"v1"'
    assert response.etag == "v1"
    response.etag = None
    assert "ETag" not in response.headers


def test_text_property_reads_and_replaces_the_body() -> None:
    response = web.Response(body=b"caf\xc3\xa9", content_type="text/plain", charset="utf-8")
    assert response.text == "café"
    plain = web.Response()
    plain.text = "new"
    assert plain.body == b"new"
    assert plain.content_type == "text/plain"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"body": b"a", "text": "b"}, ValueError),
        ({"text": "a", "content_type": "text/plain; charset=utf-8"}, ValueError),
        ({"text": 1}, TypeError),
        ({"body": "text, not bytes"}, TypeError),
        ({"text": "a", "headers": {"Content-Type": "text/html"}, "charset": "latin-1"}, ValueError),
    ],
)
def test_contradictory_arguments_are_refused(kwargs: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        web.Response(**kwargs)  # type: ignore[arg-type]


def test_text_with_content_type_in_headers_uses_its_charset() -> None:
    response = web.Response(text="é", headers={"Content-Type": "text/html; charset=latin-1"})
    assert response.body == b"\xe9"
    other = web.Response(text="é", content_type="text/html", charset="latin-1")
    assert other.body == b"\xe9"
    assert other.headers["Content-Type"] == "text/html; charset=latin-1"
    raw = web.Response(body=bytearray(b"ab"), charset="ascii")
    assert raw.body == b"ab"
    assert raw.content_type == "application/octet-stream"


def test_responses_are_mappings_for_middleware_data() -> None:
    response = web.Response()
    assert len(response) == 0
    assert list(response) == []
    response["started"] = 1
    assert response["started"] == 1
    assert list(response) == ["started"]
    assert len(response) == 1
    del response["started"]
    assert "started" not in response
    assert response
    assert response == response
    assert response != web.Response()
    assert hash(response) == id(response)
    assert repr(response) == "<Response 200 OK>"


def test_the_mapping_has_every_mutable_mapping_method() -> None:
    response = web.StreamResponse()
    assert isinstance(response, MutableMapping)
    assert response.get("x") is None
    assert response.get("x", 5) == 5
    assert "x" not in response
    response.update({"a": 1}, b=2)
    response.update([("c", 3)])
    assert response.setdefault("a", 9) == 1
    assert response.setdefault("d", 4) == 4
    assert list(response.keys()) == ["a", "b", "c", "d"]
    assert list(response.values()) == [1, 2, 3, 4]
    assert dict(response.items()) == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert response.pop("a") == 1
    assert response.pop("a", None) is None
    with pytest.raises(KeyError):
        response.pop("a")
    assert response.popitem() == ("d", 4)
    response.clear()
    assert len(response) == 0
    web.Response().clear()  # nothing stored yet


def test_response_classes_are_told_apart() -> None:
    # In the compiled build these are extension classes; a shared ABC cache once made
    # issubclass(Response, FileResponse) true.
    classes = [web.StreamResponse, web.Response, web.FileResponse]
    for first in classes:
        for second in classes:
            expected = first is second or second is web.StreamResponse
            assert issubclass(first, second) is expected, (first, second)
    assert not isinstance(web.Response(), web.FileResponse)
    assert issubclass(web.Response, MutableMapping)
    assert issubclass(web.Request, MutableMapping)
    assert not issubclass(web.Request, web.StreamResponse)


def test_cookies_serialize_every_attribute() -> None:
    response = web.StreamResponse()
    response.set_cookie(
        "session",
        "abc",
        expires="Wed, 25 Nov 2026 00:00:00 GMT",
        domain="example.com",
        max_age=60,
        path="/app",
        secure=True,
        httponly=True,
        samesite="Lax",
        partitioned=True,
    )
    response.set_cookie("plain", "1")
    response.set_cookie("session", "def", partitioned=False)
    response.del_cookie("gone")
    fields = [value.decode() for name, value in response._head() if name == b"set-cookie"]
    assert fields[0].startswith("session=def")
    assert "Partitioned" not in fields[0]
    assert fields[1] == "plain=1; Path=/"
    assert "Max-Age=0" in fields[2]
    assert "expires=Thu, 01 Jan 1970 00:00:00 GMT" in fields[2]


def test_json_response_takes_data_text_or_body() -> None:
    assert web.json_response({"a": 1}, dumps=lambda d: '{"a": 1}').text == '{"a": 1}'
    assert web.json_response(text="[]").body == b"[]"
    assert web.json_response(body=b"{}").content_type == "application/json"
    with pytest.raises(ValueError, match="only one"):
        web.json_response({"a": 1}, text="{}")
