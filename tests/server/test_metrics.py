"""Prometheus metrics: a shared-memory block, its rendering, --metrics-bind over real sockets."""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

import httpx
import pytest

import ketch
from ketch.server.metered import MeteredProtocol
from ketch.server.metrics import BUCKETS, MetricsBlock, parse_bind, render
from ketch.server.protocol import HTTPProtocol
from tests.support import RawClient, async_test, respond, serve

SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def parse(text: str) -> dict[str, float]:
    """Samples of a text exposition as {'name{labels}': value}; every line must be well formed."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("# "):
            assert line.startswith(("# HELP ", "# TYPE ")), line
            continue
        match = SAMPLE.match(line)
        assert match, f"malformed sample line {line!r}"
        key = match["name"] + (f"{{{match['labels']}}}" if match["labels"] else "")
        samples[key] = float(match["value"])
    return samples


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/slow":
        await asyncio.sleep(0.06)
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/missing":
        await respond(send, b"nope", status=404)
        return
    await respond(send, b"0123456789")


async def scrape(server: ketch.Server) -> dict[str, float]:
    assert server.metrics_url is not None
    async with httpx.AsyncClient() as client:
        response = await client.get(server.metrics_url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(response.text)


@async_test()
async def test_metrics_count_requests_by_status_class_durations_and_bytes() -> None:
    async with serve(app, metrics_bind="127.0.0.1:0") as server:
        assert server.metrics_url is not None
        assert server.metrics_url.startswith("http://127.0.0.1:")
        assert server.metrics_url.endswith("/metrics")
        async with await RawClient.connect(server.port) as client:
            for path in ["/", "/", "/slow", "/missing"]:
                await client.request("GET", path)
            await client.request("POST", "/", body=b"x" * 1000)
            during = await scrape(server)
        async with await RawClient.connect(server.port) as client:
            assert (await client.request("GET", "/boom")).status == 500
        await asyncio.sleep(0.05)  # let the server see the close
        after = await scrape(server)
    assert during['ketch_info{version="' + ketch.__version__ + '"}'] == 1
    assert during["ketch_open_connections"] == 1
    assert after["ketch_open_connections"] == 0
    assert after["ketch_connections_total"] == 2
    assert after['ketch_requests_total{status="2xx"}'] == 4
    assert after['ketch_requests_total{status="4xx"}'] == 1
    assert after['ketch_requests_total{status="5xx"}'] == 1
    assert after['ketch_requests_total{status="1xx"}'] == 0
    assert after["ketch_request_duration_seconds_count"] == 6
    assert after['ketch_request_duration_seconds_bucket{le="+Inf"}'] == 6
    # Only /slow took 60 ms or more; buckets are cumulative.
    assert after['ketch_request_duration_seconds_bucket{le="0.05"}'] <= 5
    assert after['ketch_request_duration_seconds_bucket{le="10.0"}'] == 6
    assert 0.06 <= after["ketch_request_duration_seconds_sum"] < 5
    # Bodies: four of 10 bytes, "nope", and the 500's text.
    assert after["ketch_sent_bytes_total"] == 4 * 10 + 4 + len(b"Internal Server Error\n")
    assert after["ketch_received_bytes_total"] > 1000
    assert after["ketch_worker_restarts_total"] == 0


@async_test()
async def test_scrapes_do_not_count_as_requests() -> None:
    async with serve(app, metrics_bind="127.0.0.1:0") as server:
        first = await scrape(server)
        second = await scrape(server)
    assert first['ketch_requests_total{status="2xx"}'] == 0
    assert second == first


@async_test()
async def test_buckets_are_cumulative_and_end_with_inf() -> None:
    async with serve(app, metrics_bind="127.0.0.1:0") as server:
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{server.port}/")
        samples = await scrape(server)
    bounds = [f"{b}" for b in BUCKETS] + ["+Inf"]
    counts = [samples[f'ketch_request_duration_seconds_bucket{{le="{b}"}}'] for b in bounds]
    assert counts == sorted(counts)
    assert counts[-1] == samples["ketch_request_duration_seconds_count"] == 1


@async_test()
async def test_metrics_listener_answers_only_get_metrics() -> None:
    async with serve(app, metrics_bind="127.0.0.1:0") as server, httpx.AsyncClient() as client:
        assert server.metrics_url is not None
        base = server.metrics_url.removesuffix("/metrics")
        assert (await client.get(base + "/")).status_code == 404
        assert (await client.post(server.metrics_url)).status_code == 405
        assert (await client.head(server.metrics_url)).status_code == 200


@async_test()
async def test_metrics_listener_stops_with_the_server() -> None:
    async with serve(app, metrics_bind="127.0.0.1:0") as server:
        assert server.metrics_url is not None
        port = int(server.metrics_url.split(":")[2].split("/")[0])
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


@async_test()
async def test_connections_record_only_when_metrics_are_on() -> None:
    async with serve(app) as server, await RawClient.connect(server.port) as client:
        await client.request()
        assert server._state is not None
        (proto,) = server._state.connections
        assert type(proto) is HTTPProtocol
        assert server.metrics_url is None
    async with (
        serve(app, metrics_bind="127.0.0.1:0") as server,
        await RawClient.connect(server.port) as client,
    ):
        await client.request()
        assert server._state is not None
        (proto,) = server._state.connections
        assert type(proto) is MeteredProtocol


@async_test()
async def test_a_recorder_given_by_a_supervisor_is_used_and_nothing_is_bound() -> None:
    block = MetricsBlock(3)
    server = ketch.Server(app, host="127.0.0.1", port=0, access_log=False)
    server.metrics = block.slot(1)
    async with server, httpx.AsyncClient() as client:
        await client.get(f"http://127.0.0.1:{server.port}/")
        assert server.metrics_url is None
    assert parse(render(block).decode())['ketch_requests_total{status="2xx"}'] == 1


def test_slots_are_shared_with_forked_children_and_summed() -> None:
    block = MetricsBlock(3)
    pid = os.fork()
    if pid == 0:  # the child: a worker in slot 1
        try:
            recorder = block.slot(1)
            recorder.connection_opened()
            recorder.request(204, 0.2, 0)
            recorder.received(100)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    block.slot(0).request(200, 0.001, 5)
    block.slot(2).worker_restarted()
    samples = parse(render(block).decode())
    assert samples['ketch_requests_total{status="2xx"}'] == 2
    assert samples["ketch_open_connections"] == 1
    assert samples["ketch_received_bytes_total"] == 100
    assert samples["ketch_sent_bytes_total"] == 5
    assert samples["ketch_worker_restarts_total"] == 1
    assert samples['ketch_request_duration_seconds_bucket{le="0.005"}'] == 1
    assert samples['ketch_request_duration_seconds_bucket{le="0.25"}'] == 2
    assert samples["ketch_request_duration_seconds_sum"] == pytest.approx(0.201)
    block.reset_gauges(1)  # the worker died: its connections are gone, its counts stay
    samples = parse(render(block).decode())
    assert samples["ketch_open_connections"] == 0
    assert samples['ketch_requests_total{status="2xx"}'] == 2


def test_block_slot_bounds() -> None:
    block = MetricsBlock(2)
    with pytest.raises(IndexError):
        block.slot(2)
    with pytest.raises(ValueError, match="at least one slot"):
        MetricsBlock(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9100", ("127.0.0.1", 9100)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("[::1]:9100", ("::1", 9100)),
        ("localhost:80", ("localhost", 80)),
    ],
)
def test_parse_bind(text: str, expected: tuple[str, int]) -> None:
    assert parse_bind(text) == expected


@pytest.mark.parametrize("text", ["9100", ":9100", "host:", "host:http", "host:70000"])
def test_a_bad_metrics_bind_is_refused_by_the_config(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        ketch.Config(metrics_bind=text)
