"""`rugslab serve live`: refusals name the flag, the value and the fix; a replay run serves
clients, writes the lake and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import socketio

from rugslab.cli import main
from rugslab.lake.catalog import read_table


def _err(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err.strip()


def test_a_non_loopback_host_without_a_token_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _err(["serve", "live", "--host", "0.0.0.0", "--port", "0"], capsys) == (
        "rugslab: error: Refusing to listen on --host '0.0.0.0' without a token: any machine "
        "that can reach it could connect. Pass --token-file PATH (clients then send "
        "auth={'token': ...}), or keep the default --host 127.0.0.1.")


def test_bad_flags_name_the_flag_the_value_and_the_fix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    short = tmp_path / "token"
    short.write_text("abc\n")
    assert _err(["serve", "live", "--token-file", str(short)], capsys) == (
        f"rugslab: error: Invalid --token-file '{short}': its first line holds 3 characters; "
        "expected a token of at least 16, e.g. `python -c 'import secrets; "
        "print(secrets.token_urlsafe(32))'`.")
    assert _err(["serve", "live", "--replay"], capsys) == (
        "rugslab: error: Invalid --replay without files: name the captures to replay, e.g. "
        "`rugslab serve live --replay capture.jsonl --speed 20`.")
    assert _err(["serve", "live", "x.jsonl"], capsys) == (
        "rugslab: error: Invalid argument 'x.jsonl': files are replayed only with --replay "
        "(e.g. `rugslab serve live --replay FILE...`).")
    assert _err(["serve", "live", "--speed", "20"], capsys) == (
        "rugslab: error: Invalid --speed/--loop without --replay: they scale a replay; the "
        "live feed runs in real time.")
    assert _err(["serve", "live", "--feed", "http://x", "--heartbeat", "0s"], capsys) == (
        "rugslab: error: Invalid --heartbeat '0s': the duration must be longer than zero.")


def test_bad_paper_flags_name_the_flag_the_value_and_the_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _err(["serve", "live", "--paper-param", "stake=0.1"], capsys) == (
        "rugslab: error: Invalid --paper-param 'stake=0.1' without --paper: name the strategy "
        "to paper-trade, e.g. --paper sidebet-fixed.")
    assert _err(["serve", "live", "--paper", "sidebet-fixed", "--paper", "sidebet-fixed"],
                capsys) == (
        "rugslab: error: Invalid --paper 'sidebet-fixed' given twice: each strategy runs once "
        "(its events are told apart by the strategy's name).")
    assert _err(["serve", "live", "--paper", "sidebet-fixed", "--paper-param",
                 "trade-target:stake=1"], capsys) == (
        "rugslab: error: Invalid --paper-param 'trade-target:stake=1': 'trade-target' is not a "
        "--paper strategy; expected one of sidebet-fixed.")
    assert _err(["serve", "live", "--paper", "sidebet-fixed", "--paper", "trade-target",
                 "--paper-param", "start_tick=3"], capsys) == (
        "rugslab: error: Unknown --paper-param start_tick='3' for trade-target: expected one "
        "of entry_tick, stake, target, exit_tick. (trade-target:KEY=VALUE gives a parameter to "
        "trade-target only.)")
    assert _err(["serve", "live", "--bankroll", "2"], capsys) == (
        "rugslab: error: Invalid --bankroll without --paper: it is the paper runs' bankroll; "
        "name a strategy, e.g. --paper sidebet-fixed.")
    assert _err(["serve", "live", "--paper", "sidebet-fixed", "--bankroll", "0"], capsys) == (
        "rugslab: error: Invalid --bankroll 0.0: expected SOL > 0.")


async def _watch(url: str, need: int) -> list[dict]:
    c = socketio.AsyncClient(reconnection=False)
    ticks: list[dict] = []
    c.on("ticks", lambda t: ticks.append(t))
    await c.connect(url, transports=["websocket"])
    assert (await c.call("subscribe", {"channel": "ticks"}, timeout=10))["ok"] is True
    for _ in range(600):
        if len(ticks) >= need:
            break
        await asyncio.sleep(0.05)
    await c.disconnect()
    return ticks


@pytest.mark.slow
def test_serve_live_replays_into_clients_and_the_lake_and_stops_on_sigterm(
    captures_dir: Path, tmp_path: Path,
) -> None:
    lake = tmp_path / "lake"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rugslab", "serve", "live", "--replay",
         str(captures_dir / "2025-12-12_two-rugs.jsonl"), "--speed", "10", "--port", "0",
         "--lake", str(lake), "--wait-for-clients", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("serving live on http://127.0.0.1:"), proc.stderr
        ticks = asyncio.run(_watch(line.split()[3], 40))
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert len(ticks) >= 40 and ticks[0]["game_id"] == "20251212-25dcb17086a24ad7"
    assert "served " in out and "frames to 1 connections" in out
    games = read_table("games", lake)
    assert "20251212-25dcb17086a24ad7" in games["game_id"].to_list()
