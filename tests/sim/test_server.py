"""The feed server on 127.0.0.1: replays captures, injects faults, counts client packets."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import socketio

from rugslab.cli import main
from rugslab.feed.frames import MARKER_EVENTS, Frame
from rugslab.readers import read_frames
from rugslab.sim.faults import Faults
from rugslab.testing import replay_frames, running_server, sim_frames

CAPTURE = "2025-12-12_two-rugs.jsonl"


async def _listen(url: str, *, until: Any, timeout: float = 10.0, emit: int = 0,
                  reconnect: bool = True, probe: Any = None,
                  ) -> tuple[list[tuple[str, list[Any]]], list[Any]]:
    """Connect a listener; return (events received, connection log) once `until(got)`."""
    got: list[tuple[str, list[Any]]] = []
    log: list[Any] = []
    client = socketio.AsyncClient(reconnection=reconnect, reconnection_delay=0.05,
                                  reconnection_delay_max=0.1, randomization_factor=0)

    @client.on("*")
    async def any_event(event: str, *args: Any) -> None:
        got.append((event, list(args)))

    @client.event
    async def connect() -> None:
        log.append("connect")

    @client.event
    async def disconnect(reason: Any = None) -> None:
        log.append(("disconnect", str(reason)))

    await client.connect(url, transports=["websocket"])
    for i in range(emit):
        await client.emit("bot", {"n": i})
    deadline = time.monotonic() + timeout
    while not until(got) and time.monotonic() < deadline:
        if (not client.connected and not reconnect and log[-1] != "connect"
                and client.eio.state == "disconnected"):  # engine.io done closing too
            await client.connect(url, transports=["websocket"])  # reconnect by hand
        await asyncio.sleep(0.02)
    if probe is not None:
        log.append(("probe", probe()))  # still connected here
    await client.disconnect()
    return got, log


def test_replay_sends_the_capture_event_by_event(captures_dir: Path) -> None:
    path = captures_dir / CAPTURE
    expected = [(f.event, f.args) for f in read_frames(path)
                if isinstance(f, Frame) and f.event not in MARKER_EVENTS]
    assert len(expected) == 553  # 554 lines minus the `connect` marker
    with running_server(replay_frames([path], speed=200), wait_for_clients=1) as srv:
        got, log = asyncio.run(_listen(srv.client_url,
                                       until=lambda g: len(g) >= len(expected)))
        assert srv.wait_done(5)
        stats = srv.stats()
    assert got == expected  # trace + payload events keep both arguments
    assert got[7][0] == "standard/newTrade" and got[7][1][0]["__trace"] is True
    assert stats["frames_sent"] == 553 and log == ["connect", ("disconnect", "client disconnect")]


def test_listener_sends_nothing_and_a_bot_is_counted() -> None:
    with running_server(sim_frames(1, seed=2, speed=300), wait_for_clients=1) as srv:
        _, log = asyncio.run(_listen(srv.client_url, until=lambda g: len(g) >= 200,
                                     probe=srv.stats))
        (quiet,) = log[1][1]["clients"].values()
        assert log[1][1]["connected"] == 1
        assert (quiet["packets"], quiet["by_type"]) == (0, {"connect": 1})
        listener = srv.stats()["clients"]
        asyncio.run(_listen(srv.client_url, until=lambda g: len(g) >= 5, emit=3))
        for _ in range(100):  # the bot's goodbye may still be on its way
            with urllib.request.urlopen(f"{srv.url}/stats", timeout=5) as resp:
                over_http = json.loads(resp.read())
            if over_http["connected"] == 0:
                break
            time.sleep(0.02)
    (bot,) = [c for k, c in over_http["clients"].items() if k not in listener]
    assert (bot["events"], bot["acks"]) == (3, 0)
    assert {k: v for k, v in bot["by_type"].items() if k != "disconnect"} == {
        "connect": 1, "event": 3}  # a DISCONNECT on the way out may or may not be counted
    assert over_http["totals"]["events"] == 3 and over_http["totals"]["acks"] == 0


def test_connection_without_frontend_version_is_refused() -> None:
    async def attempt(url: str) -> list[Any]:
        client = socketio.AsyncClient(reconnection=False)
        said: list[Any] = []
        client.on("connect_error", lambda data: said.append(data))
        try:
            await client.connect(url, transports=["websocket"])
        except socketio.exceptions.ConnectionError as e:
            return [*said, str(e)]
        await client.disconnect()
        return ["connected"]

    with running_server(sim_frames(1, seed=0, speed=300)) as srv:
        said = asyncio.run(attempt(srv.url))
        assert said == [{"message": "query frontend-version=1.0 is required"},
                        "One or more namespaces failed to connect: /"]
        assert srv.stats()["rejected"] == 1
        assert srv.stats()["connects"] == 0


@pytest.mark.parametrize("kind", ["transport", "socketio"])
def test_server_disconnects_and_the_feed_goes_on_after_reconnect(kind: str) -> None:
    faults = Faults(disconnect_every_s=0.4, disconnect_kind=kind)
    with running_server(sim_frames(3, seed=4, speed=40), faults=faults,
                        wait_for_clients=1) as srv:
        got, log = asyncio.run(_listen(
            srv.client_url, until=lambda g: False, timeout=1.5,
            reconnect=kind == "transport"))
        stats = srv.stats()
    connects = log.count("connect")
    assert connects >= 3 and stats["connects"] == connects
    assert stats["server_disconnects"] >= connects - 1
    reasons = {r for e, *r in [x if isinstance(x, tuple) else (x,) for x in log]
               if e == "disconnect" for r in r}
    # a dropped connection reads as a transport failure; a DISCONNECT packet as the server's
    expected = {"transport error"} if kind == "transport" else {"server disconnect"}
    assert reasons == expected | {"client disconnect"}
    # frames keep arriving after the first reconnect, in order within each connection
    ticks = [a[0]["tickCount"] for e, a in got if e == "gameStateUpdate" and "tickCount" in a[0]]
    assert len(ticks) > 20


def test_faults_reach_the_wire_and_a_client_survives_them(captures_dir: Path) -> None:
    faults = Faults(drop=0.1, duplicate=0.1, reorder=0.1, malformed=0.1, seed=1)
    with running_server(replay_frames([captures_dir / CAPTURE], speed=200), faults=faults,
                        wait_for_clients=1) as srv:
        got, _ = asyncio.run(_listen(srv.client_url, until=lambda g: False, timeout=1.2))
        assert srv.wait_done(5)
        stats = srv.stats()
    f = stats["faults"]
    assert f["frames_in"] == 553
    assert f["frames_out"] == stats["frames_sent"] == 553 - f["dropped"] + f["duplicated"]
    # packets cut mid-JSON (some duplicated) cannot be decoded; everything else arrives
    assert stats["raw_sent"] >= f["malformed_kinds"]["truncated_packet"] > 0
    assert len(got) == stats["frames_sent"] - stats["raw_sent"]
    assert min(f["dropped"], f["duplicated"], f["reordered"], f["malformed"]) > 20


@pytest.mark.parametrize("argv", [["serve", "--help"], ["serve", "replay", "--help"],
                                  ["serve", "sim", "--help"]])
def test_every_serve_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert "Usage" in capsys.readouterr().out
