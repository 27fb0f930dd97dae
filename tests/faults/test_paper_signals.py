"""Real SIGINT and SIGTERM sent to a real `rugslab paper` process in the middle of a game: the
game in play is censored at its last tick seen (settled as a lake backtest settles it), what
the run holds is written, and it exits 0 with its summary."""

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
def test_a_signal_mid_game_censors_the_game_writes_the_rows_and_exits_0(
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
    assert "games: 1 observed: 1 played (1 censored: end not seen), 0 skipped" in out
    d = read_table("paper_decisions", lake)
    assert d.height == 1 and d["decision_tick"].to_list() == [1]
    r = read_table("paper_results", lake)
    g = read_table("paper_games", lake)
    assert g.select("status", "ended_by", "orders").rows() == [("played", "censored", 1)]
    end = g["end_tick"][0]
    # the bet (over 2..42) had filled: void when the stop came before tick 42, else lost there;
    # or it was still pending (due at 2): the decision is void
    if r.height:
        assert d["status"].to_list() == ["filled"]
        assert r.select("outcome", "settle_tick").rows() == (
            [("void", end)] if end < 42 else [("lost", 42)])
        cash = 10.0 if end < 42 else 9.9
    else:
        assert end < 2 and d.select("status", "reason").rows() == [("void", "censored")]
        cash = 10.0
    assert f"bankroll: 10.0000 → {cash:.4f} SOL" in out
    assert d.filter(pl.col("status") == "filled").height == r.height
