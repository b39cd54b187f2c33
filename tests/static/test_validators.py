"""ETags and HTTP dates (RFC 9110 §8.8, §5.6.7)."""

from __future__ import annotations

import pytest

from ketch.static import format_http_date, make_etag, parse_http_date
from ketch.static.validators import parse_etag_list, strong_match, weak_match

NOV_6_1994 = 784111777  # RFC 9110's example date, Sun, 06 Nov 1994 08:49:37 GMT


def test_etag_is_strong_and_made_of_microseconds_and_size() -> None:
    assert make_etag(100, 1.5) == b'"16e360-64"'


def test_etag_of_a_precompressed_variant_names_its_coding() -> None:
    assert make_etag(100, 1.5, b"gzip") == b'"16e360-64-gzip"'
    assert make_etag(100, 1.5, b"gzip") != make_etag(100, 1.5)


def test_etag_changes_with_a_sub_second_change_of_time() -> None:
    assert make_etag(10, 1000.000001) != make_etag(10, 1000.000002)


def test_format_http_date_writes_an_imf_fixdate() -> None:
    assert format_http_date(NOV_6_1994) == b"Sun, 06 Nov 1994 08:49:37 GMT"
    assert format_http_date(0) == b"Thu, 01 Jan 1970 00:00:00 GMT"


@pytest.mark.parametrize("seconds", [-1, 253402300800])
def test_format_http_date_refuses_times_no_http_date_can_spell(seconds: int) -> None:
    with pytest.raises(ValueError, match="no HTTP-date"):
        format_http_date(seconds)


@pytest.mark.parametrize(
    "value",
    [
        b"Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        b"Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850
        b"Sun Nov  6 08:49:37 1994",  # ANSI C asctime()
    ],
)
def test_parse_http_date_accepts_the_three_formats(value: bytes) -> None:
    assert parse_http_date(value) == NOV_6_1994


def test_rfc850_two_digit_years_below_70_are_this_century() -> None:
    assert parse_http_date(b"Monday, 01-Jan-01 00:00:00 GMT") == 978307200


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"sun, 06 Nov 1994 08:49:37 GMT",  # day names are case-sensitive
        b"Sun, 06 nov 1994 08:49:37 GMT",
        b"Sun, 6 Nov 1994 08:49:37 GMT",
        b"Sun, 06 Nov 1994 08:49:37 UTC",
        b"Sun, 06 Nov 1994 08:49:37 GMT ",
        b"Sun, 31 Feb 1994 08:49:37 GMT",  # no such day
        b"Sun, 06 Nov 1994 24:00:00 GMT",
        b"Sun, 06 Nov 1994 08:49:60 GMT",
        b"Sun, 06 Nov 0000 08:49:37 GMT",
        b"784111777",
    ],
)
def test_parse_http_date_refuses_anything_else(value: bytes) -> None:
    assert parse_http_date(value) is None


def test_etag_list_finds_tags_with_commas_inside_and_empty_members() -> None:
    values = [b'"a,b", W/"c"', b' , "d" ,']
    assert parse_etag_list(values) == [b'"a,b"', b'W/"c"', b'"d"']


@pytest.mark.parametrize("value", [b"abc", b'"a" "b"', b'"a", b', b'"a', b'w/"a"', b'"a"x'])
def test_etag_list_refuses_what_is_not_a_list_of_tags(value: bytes) -> None:
    assert parse_etag_list([value]) is None


def test_strong_comparison_needs_two_strong_equal_tags() -> None:
    assert strong_match(b'"a"', b'"a"')
    assert not strong_match(b'W/"a"', b'W/"a"')
    assert not strong_match(b'"a"', b'"b"')


def test_weak_comparison_ignores_the_weakness() -> None:
    assert weak_match(b'W/"a"', b'"a"')
    assert weak_match(b'"a"', b'W/"a"')
    assert not weak_match(b'"a"', b'"b"')
