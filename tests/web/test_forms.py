"""ketch.web.forms: urlencoded and streaming multipart bodies, and Content-Type parsing."""

from __future__ import annotations

import asyncio
import io
import random
import threading
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from aiohttp import FormData

from ketch.web import forms
from ketch.web.forms import (
    FileField,
    FormError,
    parse_content_type,
    parse_multipart,
    parse_urlencoded,
)
from ketch.web.multidict import CIMultiDictProxy
from tests.support import async_test

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from ketch.web.multidict import MultiDict

BOUNDARY = "XyZ"
CT = f"multipart/form-data; boundary={BOUNDARY}"


def part(name: str, value: bytes, *, filename: str | None = None, headers: bytes = b"") -> bytes:
    """One part, from its delimiter line to just before the next delimiter's CRLF."""
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return (
        f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        + headers
        + b"\r\n"
        + value
        + b"\r\n"
    )


def multipart(*parts: bytes, preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    return preamble + b"".join(parts) + f"--{BOUNDARY}--".encode() + epilogue


async def stream(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def parse(
    body: bytes, *, size: int | None = None, ct: str = CT, **kwargs: Any
) -> MultiDict[str | FileField]:
    kwargs.setdefault("max_size", 1 << 30)
    return await parse_multipart(ct, stream(split(body, size or len(body) or 1)), **kwargs)


async def form_error(body: bytes, **kwargs: Any) -> FormError:
    with pytest.raises(FormError) as info:
        await parse(body, **kwargs)
    return info.value


def snapshot(form: MultiDict[str | FileField]) -> list[tuple[str, object]]:
    """The form as comparable data: files become (filename, content type, content)."""
    out: list[tuple[str, object]] = []
    for name, value in form.items():
        if isinstance(value, FileField):
            out.append((name, (value.filename, value.content_type, value.file.read())))
            value.close()
        else:
            out.append((name, value))
    return out


@pytest.fixture
def made_files(monkeypatch: pytest.MonkeyPatch) -> list[FileField]:
    """Every FileField the parser makes, whether or not it ever returns it."""
    made: list[FileField] = []
    original = forms._Spool.__init__

    def record(self: forms._Spool, field: FileField, threshold: int) -> None:
        made.append(field)
        original(self, field, threshold)

    monkeypatch.setattr(forms._Spool, "__init__", record)
    return made


# --- parse_content_type -----------------------------------------------------------------------


def test_content_type_lowercases_type_and_parameter_names_not_values() -> None:
    assert parse_content_type("Text/HTML; Charset=UTF-8") == ("text/html", {"charset": "UTF-8"})
    assert parse_content_type("  application/json  ") == ("application/json", {})
    assert parse_content_type("") == ("", {})


def test_content_type_unquotes_quoted_strings_with_backslash_escapes() -> None:
    value = r'multipart/form-data; boundary="a \"b\\c; d"; x = y'
    assert parse_content_type(value) == (
        "multipart/form-data",
        {"boundary": 'a "b\\c; d', "x": "y"},
    )


def test_content_type_skips_malformed_parameters_and_keeps_the_first_duplicate() -> None:
    assert parse_content_type("text/plain;; flag; charset=a; charset=b; =x; tail") == (
        "text/plain",
        {"charset": "a"},
    )
    assert parse_content_type("text/plain; charset=utf-8 junk") == (
        "text/plain",
        {"charset": "utf-8"},
    )
    assert parse_content_type('text/plain; a="unterminated') == ("text/plain", {})


# --- parse_urlencoded -------------------------------------------------------------------------


def test_urlencoded_decodes_plus_and_percent_escapes() -> None:
    form = parse_urlencoded(b"a+b=c+d&e%26f=g%3Dh%20i&euro=%E2%82%AC")
    assert list(form.items()) == [("a b", "c d"), ("e&f", "g=h i"), ("euro", "€")]


def test_urlencoded_keeps_blank_values_and_names_without_equals() -> None:
    assert list(parse_urlencoded(b"a=&b&c=1").items()) == [("a", ""), ("b", ""), ("c", "1")]


def test_urlencoded_skips_empty_fields_and_keeps_duplicates_in_order() -> None:
    form = parse_urlencoded(b"&a=1&&b=2&a=3&")
    assert list(form.items()) == [("a", "1"), ("b", "2"), ("a", "3")]
    assert form.getall("a") == ["1", "3"]
    assert len(parse_urlencoded(b"")) == 0


def test_urlencoded_splits_only_on_the_first_equals_sign() -> None:
    assert list(parse_urlencoded(b"a=b=c").items()) == [("a", "b=c")]


def test_urlencoded_keeps_malformed_percent_escapes() -> None:
    assert list(parse_urlencoded(b"a=%zz%4&b=100%").items()) == [("a", "%zz%4"), ("b", "100%")]


def test_urlencoded_accepts_raw_utf8_and_other_charsets() -> None:
    assert parse_urlencoded("é=ü".encode())["é"] == "ü"
    assert parse_urlencoded(b"a=%E9", charset="latin-1")["a"] == "é"


def test_urlencoded_rejects_invalid_utf8_with_400() -> None:
    with pytest.raises(FormError, match="not valid utf-8") as info:
        parse_urlencoded(b"a=%FF")
    assert info.value.status == 400
    with pytest.raises(FormError):
        parse_urlencoded(b"\xff=1")


@pytest.mark.parametrize("charset", ["no-such-charset", "base64", "rot13"])
def test_urlencoded_rejects_unknown_or_non_text_charsets_with_400(charset: str) -> None:
    with pytest.raises(FormError, match="unknown charset") as info:
        parse_urlencoded(b"a=1", charset=charset)
    assert info.value.status == 400


def test_urlencoded_too_many_fields_is_413() -> None:
    assert len(parse_urlencoded(b"a=1&" * 3, max_fields=3)) == 3
    assert len(parse_urlencoded(b"&&&a&&&b&&&", max_fields=2)) == 2
    with pytest.raises(FormError, match="too many form fields") as info:
        parse_urlencoded(b"a&b&c", max_fields=2)
    assert info.value.status == 413


# --- multipart: the happy path ----------------------------------------------------------------


@async_test()
async def test_multipart_parses_text_fields_and_files() -> None:
    body = multipart(
        part("title", "héllo".encode()),
        part("up", b"\x00\x01binary", filename="a.bin", headers=b"Content-Type: image/png\r\n"),
        part("title", b"second"),
    )
    form = await parse(body)
    assert list(form) == ["title", "up", "title"]
    assert form.getall("title") == ["héllo", "second"]
    upload = form["up"]
    assert isinstance(upload, FileField)
    assert upload.name == "up"
    assert upload.filename == "a.bin"
    assert upload.content_type == "image/png"
    assert upload.size == 8
    assert isinstance(upload.file, io.BytesIO)
    assert upload.file.tell() == 0
    assert upload.file.read() == b"\x00\x01binary"
    assert isinstance(upload.headers, CIMultiDictProxy)
    assert upload.headers["content-type"] == "image/png"
    assert upload.headers["CONTENT-DISPOSITION"] == 'form-data; name="up"; filename="a.bin"'
    upload.close()
    upload.close()
    assert upload.file.closed


@async_test()
async def test_multipart_file_without_content_type_is_octet_stream() -> None:
    form = await parse(multipart(part("f", b"x", filename="x")))
    upload = form["f"]
    assert isinstance(upload, FileField)
    assert upload.content_type == "application/octet-stream"


@async_test()
async def test_multipart_empty_filename_and_empty_values_are_kept() -> None:
    form = await parse(multipart(part("f", b"", filename=""), part("t", b"")))
    upload = form["f"]
    assert isinstance(upload, FileField)
    assert (upload.filename, upload.size, upload.file.read()) == ("", 0, b"")
    assert form["t"] == ""


@async_test()
async def test_multipart_with_no_parts_is_an_empty_form() -> None:
    assert len(await parse(b"--XyZ--")) == 0


@async_test()
async def test_multipart_ignores_preamble_epilogue_and_transport_padding() -> None:
    body = (
        b"This is the preamble.\r\n-XyZ\r\n--XyZ \t \r\n"
        b'Content-Disposition: form-data; name="a"\r\n\r\n1\r\n'
        b"--XyZ--  \r\nepilogue --XyZ\r\n garbage"
    )
    for size in (1, 2, 5, len(body)):
        assert snapshot(await parse(body, size=size)) == [("a", "1")]


@async_test()
async def test_multipart_reads_the_epilogue_to_the_end() -> None:
    done = False

    async def body() -> AsyncIterator[bytes]:
        nonlocal done
        yield multipart(part("a", b"1"))
        yield b"\r\nepilogue"
        done = True

    await parse_multipart(CT, body(), max_size=1000)
    assert done


@async_test()
async def test_multipart_content_that_resembles_the_boundary_is_data() -> None:
    tricky = b"--XyZ\r\n-XyZ\r\n--Xy\r\r\n\n--\r\n--X"
    form = await parse(multipart(part("a", tricky), part("f", tricky, filename="f")))
    assert snapshot(form) == [
        ("a", tricky.decode()),
        ("f", ("f", "application/octet-stream", tricky)),
    ]


@async_test()
async def test_multipart_quoted_boundary_with_spaces_and_specials() -> None:
    boundary = "a b'()+_,-./:=?z"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--{boundary}--'
    ).encode()
    form = await parse(body, ct=f'multipart/form-data; boundary="{boundary}"')
    assert snapshot(form) == [("a", "1")]


@async_test()
async def test_multipart_boundary_split_across_chunks_at_every_position() -> None:
    body = multipart(
        part("text", b"some value\r\n-with-\r\n--dashes"),
        part("file", b"\r\n--XyY file \r\n--Xy\r\n", filename="f.txt"),
        part("empty", b""),
        preamble=b"preamble\r\n",
        epilogue=b"\r\nepilogue",
    )
    expected = snapshot(await parse(body))
    for cut in range(len(body) + 1):
        assert (
            snapshot(await parse_multipart(CT, stream([body[:cut], body[cut:]]), max_size=1000))
            == expected
        ), cut
    for size in (1, 2, 3, 7):
        assert snapshot(await parse(body, size=size)) == expected, size


@async_test(timeout=60)
async def test_multipart_big_file_rolls_to_disk_in_large_thread_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    content = random.Random(7).randbytes(5 * 1024 * 1024 + 123)
    body = multipart(part("small", b"x", filename="s"), part("big", content, filename="big.bin"))
    batches: list[int] = []
    to_thread = asyncio.to_thread

    async def counting(fn: Any, *args: Any) -> Any:
        batches.append(len(args[0]))
        return await to_thread(fn, *args)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    form = await parse(body, size=65536)
    big, small = form["big"], form["small"]
    assert isinstance(big, FileField)
    assert isinstance(small, FileField)
    try:
        assert isinstance(small.file, io.BytesIO)
        assert not isinstance(big.file, io.BytesIO)
        assert big.size == len(content)
        assert big.file.tell() == 0
        assert big.file.read() == content
        assert all(n >= 64 * 1024 for n in batches[:-1])
        # About the first MiB was in memory; the rest went to disk.
        assert len(content) - 1024 * 1024 <= sum(batches) <= len(content)
    finally:
        big.close()
        small.close()
    assert big.file.closed


@async_test()
async def test_multipart_spool_threshold_is_inclusive() -> None:
    body = multipart(part("a", b"1234", filename="a"), part("b", b"12345", filename="b"))
    form = await parse(body, spool_threshold=4, size=3)
    a, b = form["a"], form["b"]
    assert isinstance(a, FileField)
    assert isinstance(b, FileField)
    assert isinstance(a.file, io.BytesIO)
    assert not isinstance(b.file, io.BytesIO)
    assert b.file.read() == b"12345"
    a.close()
    b.close()


@async_test()
async def test_multipart_file_flushed_whole_before_its_boundary_arrives() -> None:
    # The last write of the file happens before the part ends: its end only rewinds the file.
    content = b"z" * forms._DISK_BATCH
    body = multipart(part("f", content, filename="f"))
    head = body.index(content) + len(content) + len(b"\r\n--Xy")
    form = await parse_multipart(
        CT, stream([body[:head], body[head:]]), max_size=1 << 20, spool_threshold=0
    )
    upload = form["f"]
    assert isinstance(upload, FileField)
    assert upload.file.read() == content
    upload.close()


@async_test()
async def test_multipart_zero_threshold_puts_every_non_empty_file_on_disk() -> None:
    form = await parse(multipart(part("f", b"abc", filename="f")), spool_threshold=0)
    upload = form["f"]
    assert isinstance(upload, FileField)
    assert not isinstance(upload.file, io.BytesIO)
    assert upload.file.read() == b"abc"
    upload.close()


# --- multipart: charsets and file names -------------------------------------------------------


@async_test()
async def test_multipart_text_uses_part_charset_then_charset_field_then_default() -> None:
    body = multipart(
        part("a", "é".encode("latin-1"), headers=b"Content-Type: text/plain; charset=latin-1\r\n"),
        part("b", "é".encode()),
        part("_charset_", b"iso-8859-15"),
        part("c", "€".encode("iso-8859-15")),
        part("d", b"plain", headers=b"Content-Type: text/plain\r\n"),
    )
    form = await parse(body)
    assert snapshot(form) == [
        ("a", "é"),
        ("b", "é"),
        ("_charset_", "iso-8859-15"),
        ("c", "€"),
        ("d", "plain"),
    ]


@async_test()
async def test_multipart_charset_argument_is_the_default() -> None:
    form = await parse(multipart(part("a", b"\xe9")), charset="latin-1")
    assert form["a"] == "é"


@async_test()
async def test_multipart_filename_star_is_decoded_and_wins() -> None:
    disposition = (
        b'Content-Disposition: form-data; name="f"; filename="fallback.txt"; '
        b"filename*=UTF-8''%E2%82%AC%20rates.txt\r\n"
    )
    body = b"--XyZ\r\n" + disposition + b"\r\nx\r\n--XyZ--"
    upload = (await parse(body))["f"]
    assert isinstance(upload, FileField)
    assert upload.filename == "€ rates.txt"
    latin = (
        b"--XyZ\r\nContent-Disposition: form-data; name=f; filename*=iso-8859-1'en'%E9\r\n"
        b"\r\nx\r\n--XyZ--"
    )
    upload = (await parse(latin))["f"]
    assert isinstance(upload, FileField)
    assert upload.filename == "é"
    no_charset = (
        b"--XyZ\r\nContent-Disposition: form-data; name=f; filename*=''%C3%A9\r\n\r\nx\r\n--XyZ--"
    )
    upload = (await parse(no_charset))["f"]
    assert isinstance(upload, FileField)
    assert upload.filename == "é"


@pytest.mark.parametrize("value", ["UTF-8%E2%82%AC", "UTF-8'%E2", "nope''abc", "UTF-8''%FF"])
@async_test()
async def test_multipart_malformed_filename_star_is_400(value: str) -> None:
    body = (
        f"--XyZ\r\nContent-Disposition: form-data; name=f; filename*={value}\r\n\r\nx\r\n--XyZ--"
    ).encode()
    error = await form_error(body)
    assert (error.status, str(error)) == (400, "malformed filename* parameter")


@async_test()
async def test_multipart_filenames_keep_backslashes_and_raw_utf8() -> None:
    body = multipart(
        part("a", b"", filename=r"C:\dir\a.txt"),
        part("b", b"", filename=r"say \"hi\" \\ there"),
        part("c", b"", filename="naïve €.txt"),
    )
    form = await parse(body)
    names = [v.filename for v in form.values() if isinstance(v, FileField)]
    assert names == [r"C:\dir\a.txt", 'say "hi" \\ there', "naïve €.txt"]


@async_test()
async def test_multipart_header_values_that_are_not_utf8_are_latin1() -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="\xe9.txt"\r\n'
        b"\r\nx\r\n--XyZ--"
    )
    upload = (await parse(body))["f"]
    assert isinstance(upload, FileField)
    assert upload.filename == "é.txt"


# --- multipart: limits (413) ------------------------------------------------------------------


@async_test()
async def test_multipart_body_over_max_size_is_413() -> None:
    body = multipart(part("a", b"x" * 100))
    assert len(await parse(body, max_size=len(body))) == 1
    error = await form_error(body, max_size=len(body) - 1, size=10)
    assert (error.status, str(error)) == (413, "form body too large")
    error = await form_error(body + b"\r\n" + b"e" * 100, max_size=len(body) + 50, size=10)
    assert error.status == 413  # the epilogue counts


@async_test()
async def test_multipart_text_field_over_max_field_size_is_413_but_files_are_not_limited() -> None:
    body = multipart(part("a", b"x" * 10))
    assert (await parse(body, max_field_size=10))["a"] == "x" * 10
    error = await form_error(body, max_field_size=9)
    assert (error.status, str(error)) == (413, "form field too large")
    files = await parse(multipart(part("f", b"x" * 10, filename="f")), max_field_size=9)
    snapshot(files)


@async_test()
async def test_multipart_too_many_parts_is_413() -> None:
    body = multipart(*[part("a", b"1")] * 3)
    assert len(await parse(body, max_parts=3)) == 3
    error = await form_error(body, max_parts=2)
    assert (error.status, str(error)) == (413, "too many multipart parts")


@pytest.mark.parametrize("size", [1024, 64 * 1024])
@async_test()
async def test_multipart_part_headers_over_16_kib_are_413(size: int) -> None:
    big = b"X-Big: " + b"a" * 32 * 1024 + b"\r\n"
    error = await form_error(multipart(part("a", b"1", headers=big)), size=size)
    assert (error.status, str(error)) == (413, "multipart part headers too large")


# --- multipart: malformed (400) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; charset=utf-8",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=" + "a" * 71,
        'multipart/form-data; boundary="ends with space "',
        'multipart/form-data; boundary="bad\\"quote"',
    ],
)
@async_test()
async def test_multipart_content_type_without_a_valid_boundary_is_400(content_type: str) -> None:
    error = await form_error(b"--XyZ--", ct=content_type)
    assert (error.status, str(error)) == (400, "multipart/form-data without a valid boundary")


@async_test()
async def test_multipart_boundary_of_70_chars_is_accepted() -> None:
    boundary = "b" * 70
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--{boundary}--'
    form = await parse(body.encode(), ct=f"multipart/form-data; boundary={boundary}")
    assert form["a"] == "1"


@async_test()
async def test_multipart_other_media_type_is_400() -> None:
    error = await form_error(b"--XyZ--", ct="multipart/mixed; boundary=XyZ")
    assert (error.status, str(error)) == (400, "body is not multipart/form-data")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"no delimiter at all",
        b"--XyZ",
        b"--XyZ\r\n",
        b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n',
        b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue',
        b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n--XyZ',
        b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n--XyZ-',
        b'--XyZ\r\nContent-Disposition: form-data; name="a"; filename="f"\r\n\r\ndata\r\n--Xy',
    ],
)
@async_test()
async def test_multipart_truncated_body_is_400(body: bytes) -> None:
    for size in (1, len(body) or 1):
        error = await form_error(body, size=size)
        assert (error.status, str(error)) == (400, "multipart body has no closing boundary")


@pytest.mark.parametrize(
    "body",
    [
        b"--XyZjunk\r\n",
        b"--XyZ junk\r\n",
        b"--XyZ\rjunk",
        b"--XyZ-x",
        b"--XyZ" + b" " * 2000,
    ],
)
@async_test()
async def test_multipart_junk_after_a_boundary_is_400(body: bytes) -> None:
    for size in (1, len(body)):
        error = await form_error(body, size=size)
        assert (error.status, str(error)) == (400, "junk after a multipart boundary")


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Disposition form-data\r\n",
        b"Content-Disposition: form-data; name=a\r\n folded: continuation\r\n",
        b"Content-Disposition: form-data; name=a\nX-Bare-LF: 1\r\n",
        b"Content-Disposition: form-data; name=a\r\nX-Bare\rCR: 1\r\n",
        b"Bad Name: 1\r\nContent-Disposition: form-data; name=a\r\n",
        b": no name\r\n",
    ],
)
@async_test()
async def test_multipart_malformed_part_header_is_400(headers: bytes) -> None:
    error = await form_error(b"--XyZ\r\n" + headers + b"\r\nx\r\n--XyZ--")
    assert (error.status, str(error)) == (400, "malformed multipart part header")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (b"", "multipart part needs one Content-Disposition"),
        (b"Content-Type: text/plain\r\n", "multipart part needs one Content-Disposition"),
        (
            b"Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b\r\n",
            "multipart part needs one Content-Disposition",
        ),
        (
            b"Content-Disposition: attachment; name=a\r\n",
            "multipart part is not form-data with a name",
        ),
        (b"Content-Disposition: form-data\r\n", "multipart part is not form-data with a name"),
        (
            b"Content-Disposition: form-data; filename=a\r\n",
            "multipart part is not form-data with a name",
        ),
        (
            b"Content-Disposition: form-data; name=a\r\nContent-Transfer-Encoding: base64\r\n",
            "unsupported Content-Transfer-Encoding",
        ),
        (
            b"Content-Disposition: form-data; name=a\r\nContent-Type: text/plain; charset=nope\r\n",
            "unknown charset 'nope'",
        ),
    ],
)
@async_test()
async def test_multipart_part_without_a_usable_disposition_is_400(
    headers: bytes, reason: str
) -> None:
    error = await form_error(b"--XyZ\r\n" + headers + b"\r\nx\r\n--XyZ--")
    assert (error.status, str(error)) == (400, reason)


@async_test()
async def test_multipart_accepts_identity_transfer_encodings() -> None:
    headers = b"Content-Transfer-Encoding: 8BIT\r\n"
    assert (await parse(multipart(part("a", b"1", headers=headers))))["a"] == "1"


@async_test()
async def test_multipart_text_that_does_not_decode_is_400() -> None:
    error = await form_error(multipart(part("a", b"\xff")))
    assert (error.status, str(error)) == (400, "form field is not valid utf-8")
    error = await form_error(multipart(part("_charset_", b"nope"), part("a", b"x")))
    assert (error.status, str(error)) == (400, "unknown charset 'nope'")
    error = await form_error(multipart(part("a", b"x")), charset="nope")
    assert error.status == 400


# --- multipart: cleanup -----------------------------------------------------------------------


@async_test()
async def test_multipart_closes_its_files_on_a_malformed_body(made_files: list[FileField]) -> None:
    body = multipart(part("a", b"1", filename="a"), part("b", b"x" * 300_000, filename="b"))
    await form_error(body[:-10], spool_threshold=100, size=10_000)
    assert len(made_files) == 2
    assert not isinstance(made_files[1].file, io.BytesIO)  # one had gone to disk
    assert all(field.file.closed for field in made_files)


@async_test()
async def test_multipart_closes_its_files_on_a_limit(made_files: list[FileField]) -> None:
    body = multipart(part("a", b"1", filename="a"), part("t", b"x" * 100))
    error = await form_error(body, max_field_size=10)
    assert error.status == 413
    assert len(made_files) == 1
    assert made_files[0].file.closed


@pytest.mark.parametrize("exc_type", [ConnectionResetError, asyncio.CancelledError])
@async_test()
async def test_multipart_closes_its_files_when_the_body_stream_fails(
    made_files: list[FileField], exc_type: type[BaseException]
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield part("a", b"1", filename="a") + part("b", b"2", filename="b")[:-2]
        raise exc_type

    with pytest.raises(exc_type):
        await parse_multipart(CT, body(), max_size=1000)
    assert len(made_files) == 2
    assert all(field.file.closed for field in made_files)


@async_test()
async def test_multipart_cancelled_during_a_disk_write_closes_the_file_after_the_write(
    made_files: list[FileField], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    started = asyncio.Event()
    to_thread = asyncio.to_thread

    async def held(fn: Any, *args: Any) -> Any:
        def run() -> Any:
            gate.wait(10)
            return fn(*args)

        started.set()
        return await to_thread(run)

    monkeypatch.setattr(asyncio, "to_thread", held)
    body = multipart(part("f", b"x" * 100, filename="f"))
    task = asyncio.create_task(parse(body, spool_threshold=10))
    await started.wait()
    task.cancel()
    asyncio.get_running_loop().call_later(0.05, gate.set)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(made_files) == 1
    # The thread swapped in its temporary file before the cleanup closed it.
    assert not isinstance(made_files[0].file, io.BytesIO)
    assert made_files[0].file.closed


# --- multipart: real encoders -----------------------------------------------------------------


@async_test()
async def test_multipart_parses_what_httpx_encodes() -> None:
    content = random.Random(3).randbytes(100_000)
    request = httpx.Request(
        "POST",
        "http://example.com/",
        data={"name": "Ünïcode ✓", "many": ["1", "2"], "blank": ""},
        files=[
            ("doc", ('my "quoted" \\ naïve.txt', b"hello\r\n--", "text/plain")),
            ("blob", ("blob.bin", content, "application/octet-stream")),
        ],
    )
    body = request.read()
    for size in (1, 1000, len(body)):
        form = await parse_multipart(
            request.headers["Content-Type"], stream(split(body, size)), max_size=len(body)
        )
        assert snapshot(form) == [
            ("name", "Ünïcode ✓"),
            ("many", "1"),
            ("many", "2"),
            ("blank", ""),
            ("doc", ("my %22quoted%22 \\ naïve.txt", "text/plain", b"hello\r\n--")),
            ("blob", ("blob.bin", "application/octet-stream", content)),
        ]


@async_test()
async def test_multipart_parses_what_aiohttp_encodes() -> None:
    data = FormData()
    data.add_field("text", "ça va")
    data.add_field(
        "file", io.BytesIO(b"\x00" * 3000), filename="zeros.bin", content_type="application/x-zeros"
    )
    data.add_field("json", '{"a": 1}', content_type="application/json")
    writer = data()
    body = await writer.as_bytes()
    form = await parse_multipart(writer.content_type, stream(split(body, 777)), max_size=len(body))
    assert snapshot(form) == [
        ("text", "ça va"),
        ("file", ("zeros.bin", "application/x-zeros", b"\x00" * 3000)),
        ("json", '{"a": 1}'),
    ]


@async_test()
async def test_multipart_random_forms_survive_random_chunking() -> None:
    rng = random.Random(11)
    for _ in range(40):
        fields = [
            (f"f{i}", rng.choice(["", "x", "a\r\nb", "--", "é" * rng.randrange(50)]))
            for i in range(rng.randrange(4))
        ]
        files = [
            (f"u{i}", (f"n{i}.bin", rng.randbytes(rng.randrange(3000)), "application/octet-stream"))
            for i in range(rng.randrange(1, 4))
        ]
        request = httpx.Request("POST", "http://x/", data=dict(fields), files=files)
        body = request.read()
        cuts = sorted(rng.sample(range(1, len(body)), min(20, len(body) - 1)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        form = await parse_multipart(
            request.headers["Content-Type"],
            stream(pieces),
            max_size=len(body),
            spool_threshold=1000,
        )
        expected: list[tuple[str, object]] = list(fields)
        expected += [(name, (fn, ct, content)) for name, (fn, content, ct) in files]
        assert snapshot(form) == expected
