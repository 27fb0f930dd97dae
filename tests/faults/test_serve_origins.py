"""`rugslab serve`: cross-origin browser pages are refused unless allowed, and `/stats` shows
counts, never who the clients are."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import pytest
import socketio

from rugslab.cli import main
from rugslab.sim.server import FeedServer
from rugslab.testing import running_server, sim_frames

EVIL = "http://evil.example"
HANDSHAKE = "/socket.io/?EIO=4&transport=polling&frontend-version=1.0"


def _get(url: str, origin: str | None = None) -> tuple[int, str, str | None]:
    """(status, body, Access-Control-Allow-Origin) of a GET with an optional Origin header."""
    req = urllib.request.Request(url, headers={"Origin": origin} if origin else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode(), resp.headers["Access-Control-Allow-Origin"]
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers["Access-Control-Allow-Origin"]


async def _served(cors_origins: list[str] | None, probe: Any) -> Any:
    widen = {} if cors_origins is None else {"cors_origins": cors_origins}
    server = FeedServer(sim_frames(1, seed=0, speed=300), port=0, wait_for_clients=1, **widen)
    url = await server.start()
    try:
        return await probe(url)
    finally:
        await asyncio.wait_for(server.stop(), 10)  # a hang is a failure, not a stuck test


async def _websocket(url: str, origin: str) -> str:
    client = socketio.AsyncClient(reconnection=False)
    try:
        await client.connect(f"{url}?frontend-version=1.0", transports=["websocket"],
                             headers={"Origin": origin})
    except socketio.exceptions.ConnectionError as e:
        if client.eio.http is not None:  # the refused handshake's HTTP session
            await client.eio.http.close()
        return f"refused: {e}"
    await client.disconnect()
    return "connected"


async def _polling(url: str, origin: str) -> tuple[int, str, str | None]:
    return await asyncio.to_thread(_get, url + HANDSHAKE, origin)


def test_a_cross_origin_handshake_is_refused_by_default() -> None:
    said = asyncio.run(_served(None, lambda url: _websocket(url, EVIL)))
    assert said.startswith("refused: ")
    status, body, allow = asyncio.run(_served(None, lambda url: _polling(url, EVIL)))
    assert (status, allow) == (400, None)
    assert "http://evil.example is not an accepted origin." in body


def test_the_same_origin_and_clients_without_origin_are_accepted_by_default() -> None:
    async def probe(url: str) -> tuple[Any, ...]:
        same = await _polling(url, url)
        none = await asyncio.to_thread(_get, url + HANDSHAKE)
        return same[0], none[0], await _websocket(url, url)

    assert asyncio.run(_served(None, probe)) == (200, 200, "connected")


@pytest.mark.parametrize("allowed", [[EVIL], ["http://other.example", EVIL], ["*"]])
def test_a_cross_origin_handshake_is_accepted_once_its_origin_is_allowed(
    allowed: list[str],
) -> None:
    status, body, allow = asyncio.run(_served(allowed, lambda url: _polling(url, EVIL)))
    assert (status, allow) == (200, EVIL)
    assert body.startswith("0{") and '"sid"' in body
    assert asyncio.run(_served(allowed, lambda url: _websocket(url, EVIL))) == "connected"


def test_stats_show_counts_per_connection_number_and_no_address_or_session_id() -> None:
    async def listen(url: str) -> tuple[str, dict[str, Any]]:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(f"{url}?frontend-version=1.0", transports=["websocket"])
        await client.emit("bot", {"n": 1})
        await asyncio.sleep(0.2)
        sid = client.eio.sid
        body = await asyncio.to_thread(_get, f"{url}/stats")
        await client.disconnect()
        return sid, json.loads(body[1]) | {"raw": body[1]}

    with running_server(sim_frames(1, seed=0, speed=300)) as srv:
        sid, stats = asyncio.run(listen(srv.url))
    raw = stats.pop("raw")
    assert sid and sid not in raw
    assert "127.0.0.1" not in raw.replace(stats["url"], "")
    assert list(stats["clients"]) == ["1"]
    assert stats["clients"]["1"] == {"connected": True, "packets": 1, "events": 1, "acks": 0,
                                     "by_type": {"connect": 1, "event": 1}}


def test_a_bad_cors_origin_names_the_flag_the_value_and_the_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "sim", "--port", "0", "--cors-origin", "evil.example"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "rugslab: error: Invalid --cors-origin 'evil.example': expected an origin as a browser "
        "sends it, scheme://host[:port] with no path (e.g. http://localhost:3000), or '*' to "
        "allow any origin.")


@pytest.mark.slow
def test_serve_sim_cors_origin_widens_the_origins_from_the_command_line() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rugslab", "serve", "sim", "--port", "0", "--wait-for-clients",
         "1", "--cors-origin", EVIL, "--cors-origin", "http://localhost:3000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("serving on http://127.0.0.1:"), proc.stderr
        url = line.split()[2]
        assert _get(url + HANDSHAKE, EVIL)[:3:2] == (200, EVIL)
        assert _get(url + HANDSHAKE, "http://localhost:3000")[0] == 200
        assert _get(url + HANDSHAKE, "http://third.example")[0] == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.endswith("stopped.\n")


def test_the_server_stops_although_a_polling_client_went_away_mid_session() -> None:
    async def abandon_then_stop() -> tuple[int, bool]:
        server = FeedServer(sim_frames(1, seed=0, speed=300), port=0, wait_for_clients=1)
        url = await server.start()
        status = (await _polling(url, url))[0]  # a session opened, then never polled again
        try:
            await asyncio.wait_for(server.stop(), 10)
        except TimeoutError:
            return status, False
        return status, True

    assert asyncio.run(abandon_then_stop()) == (200, True)
