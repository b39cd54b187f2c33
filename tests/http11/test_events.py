"""Events are plain classes (no dataclass: see events.py) that compare and print by their fields."""

from __future__ import annotations

import pytest

from ketch.http11 import (
    ConnectionClosed,
    Data,
    EndOfMessage,
    InformationalResponse,
    LocalProtocolError,
    Request,
    Response,
)
from ketch.http11.heads import HeadInfo


def test_events_compare_by_type_and_fields() -> None:
    assert Request(method=b"GET", target=b"/") == Request(
        method=b"GET", target=b"/", http_version=b"1.1", headers=[]
    )
    assert Request(method=b"GET", target=b"/") != Request(method=b"GET", target=b"/a")
    assert Response(status_code=200) != InformationalResponse(status_code=100)
    assert Response(status_code=204) != "Response(status_code=204)"
    assert Data(b"x") == Data(b"x")
    assert EndOfMessage() == EndOfMessage(headers=[])
    assert ConnectionClosed() == ConnectionClosed()


def test_events_are_unhashable_like_the_mutable_values_they_are() -> None:
    with pytest.raises(TypeError):
        hash(Data(b"x"))


def test_each_event_gets_its_own_header_list() -> None:
    first, second = Response(status_code=200), Response(status_code=200)
    first.headers.append((b"a", b"b"))
    assert second.headers == []


def test_events_print_their_fields() -> None:
    assert repr(Request(method=b"GET", target=b"/")) == (
        "Request(method=b'GET', target=b'/', http_version=b'1.1', headers=[])"
    )
    assert repr(Response(status_code=404, reason=b"Gone")) == (
        "Response(status_code=404, headers=[], reason=b'Gone')"
    )
    assert repr(ConnectionClosed()) == "ConnectionClosed()"
    info = HeadInfo(Request(method=b"GET", target=b"/"), 0, True, False, False)
    assert repr(info).startswith("HeadInfo(request=Request(method=b'GET'")
    assert repr(info).endswith(
        "body_length=0, keep_alive=True, expect_continue=False, switch=False)"
    )


@pytest.mark.parametrize("status", [99, 200])
def test_informational_status_must_be_1xx(status: int) -> None:
    with pytest.raises(LocalProtocolError, match="1xx"):
        InformationalResponse(status_code=status)


@pytest.mark.parametrize("status", [199, 1000])
def test_final_status_must_be_200_to_999(status: int) -> None:
    with pytest.raises(LocalProtocolError, match="200-999"):
        Response(status_code=status)
