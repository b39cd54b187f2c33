"""The access log's JSON lines carry each response's duration (formats: integration/test_cli)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from tests.support import RawClient, async_test, respond, serve

if TYPE_CHECKING:
    import pytest


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["path"] == "/slow":
        await asyncio.sleep(0.2)
    await respond(send, b"ok")


@async_test()
async def test_json_lines_carry_the_time_from_the_head_read_to_the_last_byte(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ketch.access")
    async with (
        serve(app, access_log=True, access_log_format="json") as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.request("GET", "/slow")
        await client.request("GET", "/fast")
    slow, fast = (json.loads(r.getMessage()) for r in caplog.records if r.name == "ketch.access")
    assert 200 <= slow["duration_ms"] < 2000
    assert 0 <= fast["duration_ms"] < 200
