"""Real SIGINT and SIGTERM sent to a real `rugslab paper` process in the middle of a game: the
game in play is void, what the run holds is written, and it exits 0 with its summary."""

from __future__ import annotations

import signal
from pathlib import Path

import polars as pl
import pytest
from procs import start_rugslab, stop_with, wait_for

from rugslab.lake.catalog import read_table
from rugslab.testing import running_server, sim_frames


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_mid_game_voids_the_game_writes_the_rows_and_exits_0(
    sig: signal.Signals, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    with running_server(sim_frames(30, seed=4, speed=4), wait_for_clients=1) as srv:
        proc, log = start_rugslab(tmp_path, "paper", "sidebet-fixed", "-p", "start_tick=1",
                                  "--feed", srv.url, "--lake", str(lake))
        wait_for("a side bet", lambda: "sidebet 0.1 SOL at tick 1" in log.read_text(), proc,
                 log, timeout_s=60)
        out = stop_with(proc, sig, log, within_s=20)
        assert srv.stats()["totals"]["events"] == 0  # listen only
    assert f"stopped: {sig.name} received" in out
    assert "games: 0 played, 0 skipped (joined late), 1 void (end not seen)" in out
    assert "bankroll: 10.0000 → 10.0000 SOL" in out
    d = read_table("paper_decisions", lake)
    assert d.height == 1 and d["decision_tick"].to_list() == [1]
    r = read_table("paper_results", lake)
    # the bet had filled (a result, void) or was still pending (the decision is void)
    assert (r["outcome"].to_list() == ["void"]) if r.height else (
        d["status"].to_list() == ["void"])
    assert d.filter(pl.col("status") == "filled").height == r.height
