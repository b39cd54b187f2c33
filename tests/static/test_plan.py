"""`plan_file_response`: conditional requests and ranges (RFC 9110 §13, §14), without sockets."""

from __future__ import annotations

import pytest

from ketch.static import FilePlan, format_http_date, make_etag, plan_file_response
from tests.static.byteranges import parse_byteranges

SIZE = 1000
MTIME = 784111777.25  # Sun, 06 Nov 1994 08:49:37.25 GMT
SECONDS = 784111777
LAST_MODIFIED = b"Sun, 06 Nov 1994 08:49:37 GMT"
EARLIER = b"Sun, 06 Nov 1994 08:49:36 GMT"
LATER = b"Sun, 06 Nov 1994 08:49:38 GMT"
ETAG = make_etag(SIZE, MTIME)
TYPE = b"text/plain; charset=utf-8"


def plan(method: bytes = b"GET", *headers: tuple[bytes, bytes], **kwargs: object) -> FilePlan:
    settings: dict[str, object] = {"size": SIZE, "mtime": MTIME, "content_type": TYPE}
    settings.update(kwargs)
    return plan_file_response(method, list(headers), **settings)  # type: ignore[arg-type]


def header(result: FilePlan, name: bytes) -> bytes | None:
    values = [value for key, value in result.headers if key == name]
    assert len(values) <= 1, values
    return values[0] if values else None


def names(result: FilePlan) -> list[bytes]:
    return [name for name, _ in result.headers]


# ---------------------------------------------------------------- unconditional


def test_a_plain_get_sends_the_whole_file_with_validators() -> None:
    result = plan()
    assert result.status == 200
    assert result.headers == [
        (b"content-type", TYPE),
        (b"content-length", b"1000"),
        (b"etag", ETAG),
        (b"last-modified", LAST_MODIFIED),
        (b"accept-ranges", b"bytes"),
    ]
    assert result.ranges == [(0, SIZE)]
    assert (result.part_heads, result.closing) == ([], b"")
    assert result.content_length == SIZE


def test_head_gets_the_get_head_and_no_content() -> None:
    result = plan(b"HEAD")
    assert result.headers == plan().headers
    assert result.ranges == []
    assert result.content_length == 0


def test_an_empty_file_has_no_slice_to_send() -> None:
    result = plan(size=0)
    assert (result.status, header(result, b"content-length"), result.ranges) == (200, b"0", [])


def test_extra_headers_follow_the_planned_ones() -> None:
    result = plan(extra_headers=[(b"cache-control", b"max-age=60")])
    assert result.headers[-1] == (b"cache-control", b"max-age=60")


def test_a_given_etag_is_used_as_is() -> None:
    result = plan(etag=b'W/"v1"')
    assert header(result, b"etag") == b'W/"v1"'


def test_the_etag_is_strong_and_built_from_size_and_time() -> None:
    assert ETAG == b'"%x-%x"' % (784111777250000, SIZE)
    assert header(plan(), b"etag") == ETAG


def test_a_precompressed_file_has_its_own_etag_a_coding_and_vary() -> None:
    result = plan(content_encoding=b"gzip")
    assert header(result, b"content-encoding") == b"gzip"
    assert header(result, b"etag") == make_etag(SIZE, MTIME, b"gzip") != ETAG
    assert header(result, b"vary") == b"accept-encoding"


def test_a_file_with_variants_varies_on_accept_encoding() -> None:
    assert header(plan(vary=True), b"vary") == b"accept-encoding"
    assert header(plan(), b"vary") is None


@pytest.mark.parametrize("mtime", [-5.0, 253402300800.0])
def test_a_time_no_http_date_spells_gets_no_last_modified(mtime: float) -> None:
    result = plan(mtime=mtime)
    assert header(result, b"last-modified") is None
    assert header(result, b"etag") == make_etag(SIZE, mtime)


def test_last_modified_is_truncated_to_the_second() -> None:
    assert header(plan(mtime=SECONDS + 0.999), b"last-modified") == LAST_MODIFIED


# ---------------------------------------------------------------- error pages


def test_another_status_ignores_conditionals_and_ranges_and_sends_no_validators() -> None:
    result = plan(
        b"GET",
        (b"if-none-match", ETAG),
        (b"range", b"bytes=0-1"),
        status=404,
        vary=True,
        extra_headers=[(b"x-a", b"1")],
    )
    assert result.status == 404
    assert result.headers == [
        (b"content-type", TYPE),
        (b"content-length", b"1000"),
        (b"vary", b"accept-encoding"),
        (b"x-a", b"1"),
    ]
    assert result.ranges == [(0, SIZE)]
    assert plan(b"HEAD", status=404).ranges == []


# ---------------------------------------------------------------- If-Match, If-Unmodified-Since


@pytest.mark.parametrize("value", [ETAG, b"*", b' "other" , ' + ETAG, b" * ", b'"a,b",' + ETAG])
def test_if_match_that_matches_lets_the_request_through(value: bytes) -> None:
    assert plan(b"GET", (b"If-Match", value)).status == 200


@pytest.mark.parametrize("value", [b'"other"', b"W/" + ETAG, b"garbage", b"*, " + ETAG, b""])
def test_if_match_without_a_strong_match_fails_with_412(value: bytes) -> None:
    result = plan(b"GET", (b"If-Match", value))
    assert result.status == 412
    assert result.ranges == []


def test_if_match_fields_are_one_list() -> None:
    assert plan(b"GET", (b"if-match", b'"a"'), (b"if-match", ETAG)).status == 200


def test_a_weak_etag_never_passes_if_match() -> None:
    assert plan(b"GET", (b"if-match", b'W/"v"'), etag=b'W/"v"').status == 412


def test_if_unmodified_since_fails_when_modified_after_the_date() -> None:
    assert plan(b"GET", (b"if-unmodified-since", EARLIER)).status == 412
    assert plan(b"PUT", (b"if-unmodified-since", EARLIER)).status == 412


@pytest.mark.parametrize("value", [LAST_MODIFIED, LATER, b"yesterday", b""])
def test_if_unmodified_since_holds_at_or_after_the_date_or_when_invalid(value: bytes) -> None:
    assert plan(b"GET", (b"if-unmodified-since", value)).status == 200


def test_two_if_unmodified_since_fields_are_ignored() -> None:
    result = plan(b"GET", (b"if-unmodified-since", EARLIER), (b"if-unmodified-since", EARLIER))
    assert result.status == 200


def test_if_unmodified_since_cannot_fail_without_a_last_modified() -> None:
    assert plan(b"GET", (b"if-unmodified-since", EARLIER), mtime=-5.0).status == 200


def test_if_match_takes_precedence_over_if_unmodified_since() -> None:
    result = plan(b"GET", (b"if-match", ETAG), (b"if-unmodified-since", EARLIER))
    assert result.status == 200


def test_412_keeps_only_the_extra_headers_that_do_not_describe_content() -> None:
    extra = [
        (b"cache-control", b"no-cache"),
        (b"Content-Disposition", b"attachment"),
        (b"content-location", b"/a"),
        (b"access-control-allow-origin", b"*"),
    ]
    result = plan(b"GET", (b"if-match", b'"x"'), vary=True, extra_headers=extra)
    assert result.headers == [
        (b"cache-control", b"no-cache"),
        (b"content-location", b"/a"),
        (b"access-control-allow-origin", b"*"),
    ]


# ---------------------------------------------------------------- If-None-Match, If-Modified-Since


@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
@pytest.mark.parametrize("value", [ETAG, b"W/" + ETAG, b'"a", ' + ETAG, b"*"])
def test_if_none_match_that_matches_gives_304_to_get_and_head(method: bytes, value: bytes) -> None:
    result = plan(method, (b"If-None-Match", value))
    assert result.status == 304
    assert result.ranges == []


def test_if_none_match_compares_weakly_with_a_weak_etag() -> None:
    assert plan(b"GET", (b"if-none-match", b'"v"'), etag=b'W/"v"').status == 304


@pytest.mark.parametrize("method", [b"POST", b"PUT", b"DELETE"])
def test_if_none_match_that_matches_gives_412_to_other_methods(method: bytes) -> None:
    assert plan(method, (b"if-none-match", ETAG)).status == 412


@pytest.mark.parametrize("value", [b'"other"', b"garbage", b""])
def test_if_none_match_without_a_match_lets_the_request_through(value: bytes) -> None:
    assert plan(b"GET", (b"if-none-match", value)).status == 200


def test_the_304_head_has_validators_cache_fields_and_vary_but_no_content_fields() -> None:
    extra = [
        (b"cache-control", b"max-age=60"),
        (b"expires", b"Thu, 01 Dec 2094 16:00:00 GMT"),
        (b"content-disposition", b"inline"),
        (b"content-language", b"en"),
    ]
    result = plan(b"GET", (b"if-none-match", ETAG), vary=True, extra_headers=extra)
    assert result.headers == [
        (b"etag", ETAG),
        (b"last-modified", LAST_MODIFIED),
        (b"vary", b"accept-encoding"),
        (b"cache-control", b"max-age=60"),
        (b"expires", b"Thu, 01 Dec 2094 16:00:00 GMT"),
    ]


@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
@pytest.mark.parametrize("value", [LAST_MODIFIED, LATER, b"Sunday, 06-Nov-94 08:49:37 GMT"])
def test_if_modified_since_gives_304_when_not_modified_since(method: bytes, value: bytes) -> None:
    assert plan(method, (b"if-modified-since", value)).status == 304


def test_if_modified_since_has_one_second_resolution() -> None:
    # The file changed 0.9 s after the date's second: still "not modified" as HTTP sees it.
    assert plan(b"GET", (b"if-modified-since", LAST_MODIFIED), mtime=SECONDS + 0.9).status == 304
    assert plan(b"GET", (b"if-modified-since", LAST_MODIFIED), mtime=SECONDS + 1.0).status == 200


@pytest.mark.parametrize("value", [EARLIER, b"not a date", LAST_MODIFIED + b", " + LATER])
def test_if_modified_since_before_the_change_or_invalid_sends_the_file(value: bytes) -> None:
    assert plan(b"GET", (b"if-modified-since", value)).status == 200


def test_if_modified_since_is_ignored_for_other_methods() -> None:
    assert plan(b"POST", (b"if-modified-since", LATER)).status == 200


def test_if_modified_since_is_ignored_without_a_last_modified() -> None:
    assert plan(b"GET", (b"if-modified-since", LATER), mtime=-5.0).status == 200


def test_if_none_match_takes_precedence_over_if_modified_since() -> None:
    result = plan(b"GET", (b"if-none-match", b'"other"'), (b"if-modified-since", LATER))
    assert result.status == 200
    result = plan(b"GET", (b"if-none-match", ETAG), (b"if-modified-since", EARLIER))
    assert result.status == 304


def test_a_failed_if_match_wins_over_a_matching_if_none_match() -> None:
    result = plan(b"GET", (b"if-match", b'"other"'), (b"if-none-match", ETAG))
    assert result.status == 412


def test_preconditions_are_checked_before_range() -> None:
    result = plan(b"GET", (b"if-none-match", ETAG), (b"range", b"bytes=0-1"))
    assert result.status == 304
    result = plan(b"GET", (b"if-match", b'"x"'), (b"range", b"bytes=5000-"))
    assert result.status == 412


# ---------------------------------------------------------------- Range


def test_a_single_range_gets_206_with_content_range() -> None:
    result = plan(b"GET", (b"Range", b"bytes=100-199"), extra_headers=[(b"x-a", b"1")])
    assert result.status == 206
    assert result.headers == [
        (b"content-type", TYPE),
        (b"content-length", b"100"),
        (b"content-range", b"bytes 100-199/1000"),
        (b"etag", ETAG),
        (b"last-modified", LAST_MODIFIED),
        (b"accept-ranges", b"bytes"),
        (b"x-a", b"1"),
    ]
    assert result.ranges == [(100, 200)]
    assert result.content_length == 100


@pytest.mark.parametrize(
    ("value", "content_range", "ranges"),
    [
        (b"bytes=-100", b"bytes 900-999/1000", [(900, 1000)]),
        (b"bytes=900-", b"bytes 900-999/1000", [(900, 1000)]),
        (b"bytes=0-", b"bytes 0-999/1000", [(0, 1000)]),
        (b"bytes=990-5000", b"bytes 990-999/1000", [(990, 1000)]),
        (b"bytes=0-10,5-20", b"bytes 0-20/1000", [(0, 21)]),  # coalesced into one
    ],
)
def test_suffix_open_and_clamped_ranges(
    value: bytes, content_range: bytes, ranges: list[tuple[int, int]]
) -> None:
    result = plan(b"GET", (b"range", value))
    assert (result.status, header(result, b"content-range"), result.ranges) == (
        206,
        content_range,
        ranges,
    )


@pytest.mark.parametrize("method", [b"HEAD", b"POST"])
def test_range_is_ignored_for_methods_other_than_get(method: bytes) -> None:
    result = plan(method, (b"range", b"bytes=0-1"))
    assert result.status == 200
    assert header(result, b"content-length") == b"1000"


@pytest.mark.parametrize("value", [b"bytes=5-1", b"items=0-1", b"bytes=x", b"0-1"])
def test_a_malformed_range_is_ignored(value: bytes) -> None:
    result = plan(b"GET", (b"range", value))
    assert (result.status, result.ranges) == (200, [(0, SIZE)])


def test_two_range_fields_are_ignored() -> None:
    result = plan(b"GET", (b"range", b"bytes=0-1"), (b"range", b"bytes=5-6"))
    assert result.status == 200


def test_an_empty_file_ignores_range() -> None:
    result = plan(b"GET", (b"range", b"bytes=0-1"), size=0)
    assert (result.status, result.ranges) == (200, [])


@pytest.mark.parametrize("value", [b"bytes=1000-", b"bytes=-0", b"bytes=2000-3000,5000-"])
def test_an_unsatisfiable_range_gets_416_with_the_size(value: bytes) -> None:
    result = plan(
        b"GET",
        (b"range", value),
        vary=True,
        extra_headers=[(b"cache-control", b"no-cache"), (b"content-disposition", b"inline")],
    )
    assert result.status == 416
    assert result.headers == [
        (b"content-range", b"bytes */1000"),
        (b"accept-ranges", b"bytes"),
        (b"cache-control", b"no-cache"),
    ]
    assert result.ranges == []


def test_several_ranges_get_a_multipart_byteranges_body() -> None:
    result = plan(b"GET", (b"range", b"bytes=500-509, 0-9"), boundary=b"BOUNDARY", vary=True)
    assert result.status == 206
    assert result.headers == [
        (b"content-type", b"multipart/byteranges; boundary=BOUNDARY"),
        (b"content-length", b"%d" % result.content_length),
        (b"etag", ETAG),
        (b"last-modified", LAST_MODIFIED),
        (b"accept-ranges", b"bytes"),
        (b"vary", b"accept-encoding"),
    ]
    assert result.ranges == [(0, 10), (500, 510)]
    data = bytes(range(256)) * 4
    body = result.part_heads[0] + data[0:10] + result.part_heads[1] + data[500:510]
    body += result.closing
    assert len(body) == result.content_length
    assert parse_byteranges(result.headers[0][1], body) == [
        ("bytes 0-9/1000", TYPE.decode(), data[0:10]),
        ("bytes 500-509/1000", TYPE.decode(), data[500:510]),
    ]


def test_the_multipart_boundary_is_random_by_default() -> None:
    first = plan(b"GET", (b"range", b"bytes=0-0,5-5"))
    second = plan(b"GET", (b"range", b"bytes=0-0,5-5"))
    assert header(first, b"content-type") != header(second, b"content-type")


def test_a_precompressed_file_serves_one_range_but_not_several() -> None:
    one = plan(b"GET", (b"range", b"bytes=0-9"), content_encoding=b"br")
    assert (one.status, header(one, b"content-encoding")) == (206, b"br")
    several = plan(b"GET", (b"range", b"bytes=0-9,20-29"), content_encoding=b"br")
    assert (several.status, several.ranges) == (200, [(0, SIZE)])


# ---------------------------------------------------------------- If-Range


@pytest.mark.parametrize("value", [ETAG, LAST_MODIFIED, b" " + ETAG])
def test_a_holding_if_range_lets_the_range_through(value: bytes) -> None:
    assert plan(b"GET", (b"range", b"bytes=0-9"), (b"if-range", value)).status == 206


@pytest.mark.parametrize(
    "value", [b'"other"', b"W/" + ETAG, EARLIER, LATER, b"not a date", b"W/junk"]
)
def test_an_if_range_that_does_not_hold_sends_the_whole_file(value: bytes) -> None:
    result = plan(b"GET", (b"range", b"bytes=0-9"), (b"if-range", value))
    assert (result.status, result.ranges) == (200, [(0, SIZE)])


def test_if_range_needs_a_strong_etag_on_our_side_too() -> None:
    result = plan(b"GET", (b"range", b"bytes=0-9"), (b"if-range", b'W/"v"'), etag=b'W/"v"')
    assert result.status == 200


def test_if_range_with_a_date_fails_without_a_last_modified() -> None:
    result = plan(b"GET", (b"range", b"bytes=0-9"), (b"if-range", LAST_MODIFIED), mtime=-5.0)
    assert result.status == 200


def test_two_if_range_fields_do_not_hold() -> None:
    result = plan(b"GET", (b"range", b"bytes=0-9"), (b"if-range", ETAG), (b"if-range", ETAG))
    assert result.status == 200


def test_if_range_without_range_changes_nothing() -> None:
    assert plan(b"GET", (b"if-range", b'"other"')).status == 200


def test_an_if_range_date_must_be_exact() -> None:
    # The one-second Last-Modified of a file changed within that second is still a match.
    result = plan(b"GET", (b"range", b"bytes=0-9"), (b"if-range", format_http_date(SECONDS)))
    assert result.status == 206
