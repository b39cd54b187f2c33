"""Headless Chromium against ``ketch`` with no app: a folder's listing, and a page whose image and
video the browser fetches (the video with Range requests), checked on a screenshot."""

from __future__ import annotations

import base64
import re
import shutil
import struct
import zlib
from pathlib import Path

from tests.support import KetchProcess, async_test
from tests.support.browser import Browser

ASSETS = Path(__file__).resolve().parents[1] / "static" / "assets"

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>media</title>
<style>body{margin:0;background:#fff} h1{margin:0;font-size:20px}
img,video{width:160px;height:120px;display:block}</style>
</head>
<body>
<h1>media page</h1>
<img id="picture" src="picture.png" alt="a gradient">
<video id="clip" src="clip.webm" preload="auto" muted></video>
</body>
</html>
"""

# Resolves once both the image and the video's first frame are loaded; rejects on an error.
LOADED = """Promise.all([
  new Promise((ok, fail) => {
    const img = document.getElementById("picture");
    if (img.complete && img.naturalWidth) { ok(img.naturalWidth); return; }
    img.onload = () => ok(img.naturalWidth);
    img.onerror = () => fail(new Error("the image did not load"));
  }),
  new Promise((ok, fail) => {
    const video = document.getElementById("clip");
    if (video.readyState >= 2) { ok(video.videoWidth); return; }
    video.onloadeddata = () => ok(video.videoWidth);
    video.onerror = () => fail(new Error("video error " + (video.error && video.error.code)));
  }),
])"""


def png(width: int, height: int) -> bytes:
    """An RGB PNG of a colour gradient (zlib and struct only)."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 128))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB or RGBA, non-interlaced PNG: width, height and pixel rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8
    assert color in (2, 6)
    assert interlace == 0
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            up = previous[i]
            if kind == 1:
                row[i] = (row[i] + left) & 255
            elif kind == 2:
                row[i] = (row[i] + up) & 255
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 255
            elif kind == 4:
                corner = previous[i - bpp] if i >= bpp else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                row[i] = (
                    row[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)
                ) & 255
        rows.append(bytes(row))
        previous = row
    return width, height, [bytes(r[i : i + 3]) for r in rows for i in range(0, stride, bpp)]


def test_png_round_trip() -> None:
    width, height, pixels = png_pixels(png(4, 2))
    assert (width, height) == (4, 2)
    assert pixels[0] == bytes((0, 0, 128))
    assert pixels[5] == bytes((63, 127, 128))


@async_test(timeout=90)
async def test_browser_sees_the_listing_an_image_and_a_range_requested_video(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.html").write_text(PAGE, encoding="utf-8")
    (site / "picture.png").write_bytes(png(64, 48))
    shutil.copy(ASSETS / "clip.webm", site / "clip.webm")
    (site / "<b>not bold<b>.txt").write_text("escaped in the listing")
    with KetchProcess("--port", "0", "--root", str(site), cwd=tmp_path) as proc:
        base = proc.wait_serving() + "/"
        async with Browser.launch(timeout=30) as browser:
            await browser.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": 400, "height": 300, "deviceScaleFactor": 1, "mobile": False},
                session=browser.session_id,
            )
            links = await browser.evaluate(
                base, "[...document.querySelectorAll('a')].map((a) => a.textContent)"
            )
            assert await browser.run("document.title") == "Index of /"
            assert links == ["<b>not bold<b>.txt", "clip.webm", "page.html", "picture.png"]
            assert await browser.run("document.querySelectorAll('b').length") == 0

            sizes = await browser.evaluate(base + "page.html", LOADED, timeout=30)
            assert sizes == [64, 64], browser.diagnostics()
            shot = await browser.send(
                "Page.captureScreenshot", {"format": "png"}, session=browser.session_id
            )
        screenshot = base64.b64decode(shot["data"])
        (tmp_path / "screenshot.png").write_bytes(screenshot)
        proc.stop()
    width, height, pixels = png_pixels(screenshot)
    assert (width, height) == (400, 300)
    colours = set(pixels)
    assert len(colours) > 50, f"the screenshot looks blank: {len(colours)} colours"
    # The access log shows the browser asked for the video by ranges, and got 206s.
    video = [line for line in proc.stdout if "GET /clip.webm " in line]
    assert video, proc.stdout
    assert any(re.search(r'" 206 \d+', line) for line in video), video
