"""Every chart builder returns a chart whose Vega-Lite spec builds and carries the data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from rugslab import plots
from rugslab.analysis import hazard, rugmodel, sidebet, timing
from rugslab.errors import ConfigError, SchemaViolation
from rugslab.strategy import ExecutionRules, MonteCarloSource, make_strategy, oracle, run_ensemble
from rugslab.strategy.sweep import sweep

VEGA_LITE = "https://vega.github.io/schema/vega-lite/"


def _values(spec: dict) -> list[list[dict]]:
    return list(spec.get("datasets", {}).values())


def _check(chart) -> dict:
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    assert spec["$schema"].startswith(VEGA_LITE)
    assert _values(spec)
    return spec


def test_interval_histogram_bins_before_charting() -> None:
    t0 = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
    ms = np.cumsum(np.r_[0, np.full(20_000, 250.0), 5.0, 3000.0])
    ticks = pl.DataFrame({"game_id": "g", "tick": np.arange(ms.size),
                          "recv_ts": [t0 + dt.timedelta(milliseconds=float(m)) for m in ms]})
    spec = _check(plots.interval_histogram(timing.tick_intervals(ticks), max_ms=1000, bin_ms=50))
    bins = max(_values(spec), key=len)
    assert len(bins) == 20  # 0..1000 ms in 50 ms bins, not 20,002 raw rows
    assert sum(b["count"] for b in bins) == 20_002
    assert bins[-1]["count"] == 1 and bins[0]["count"] == 1  # 3000 ms pooled; 5 ms burst
    with pytest.raises(ConfigError):
        plots.interval_histogram(timing.tick_intervals(ticks), bin_ms=0)


def test_hazard_and_rug_tick_charts() -> None:
    rug = np.random.default_rng(1).geometric(0.005, 2000)
    games = pl.DataFrame({"game_id": [str(i) for i in range(rug.size)], "rug_tick": rug,
                          "last_live_tick": rug - 1, "first_live_tick": 0})
    _check(plots.hazard_chart(hazard.hazard_curve(games, max_tick=300)))
    spec = _check(plots.rug_tick_distribution(pl.Series(rug), bin_ticks=50, max_tick=1000))
    rows = max(_values(spec), key=len)
    assert sum(r["count"] for r in rows) == 2000
    assert sum(r["expected"] for r in rows) == pytest.approx(2000)


def test_reliability_ev_and_bankroll_charts() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0.1, 0.3, 500)
    cal = rugmodel.calibration(p, rng.random(500) < p, bins=5)
    _check(plots.reliability_diagram({"constant": cal, "timing": cal}))
    rug = rng.geometric(0.005, 5000)
    frames = {
        "analytic": sidebet.analytic_sidebet_ev([0, 100, 200]),
        "monte carlo": sidebet.montecarlo_sidebet_ev(rug, [0, 100, 200]),
    }
    spec = _check(plots.ev_by_start_tick(frames))
    rows = max(_values(spec), key=len)
    assert {r["source"] for r in rows} == {"analytic", "monte carlo"}


def test_ensemble_charts() -> None:
    runs = {name: run_ensemble(make_strategy(name), MonteCarloSource(), paths=40,
                               games_per_path=60, seed=3, rules=ExecutionRules(bankroll_sol=1.0))
            for name in ("sidebet-fixed", "sidebet-martingale")}
    spec = _check(plots.bankroll_fan({k: e.bankroll_bands() for k, e in runs.items()}))
    rows = max(_values(spec), key=len)
    assert {r["ensemble"] for r in rows} == {"sidebet-fixed", "sidebet-martingale"}
    assert len(rows) == 2 * runs["sidebet-fixed"].bankroll_bands().height
    _check(plots.drawdown_chart(runs["sidebet-fixed"].drawdown_bands()))
    exact = pl.DataFrame({"game": np.arange(61), "p": oracle.fixed_sidebet_ruin(
        bankroll_sol=1.0, stake_sol=0.1, games=60, bet_start_tick=11)})
    spec = _check(plots.ruin_curve_chart({k: e.ruin_curve() for k, e in runs.items()},
                                         exact=exact))
    assert sorted(len(v) for v in _values(spec)) == [61, 102]  # exact; 2 curves × 51 points
    rows = sweep("sidebet-fixed", {"start_tick": [0, 20], "stake": [0.1, 0.2]},
                 MonteCarloSource(), paths=10, games=10, workers=1)
    spec = _check(plots.sweep_heatmap(rows, x="start_tick", y="stake"))
    assert len(max(_values(spec), key=len)) == 4
    with pytest.raises(SchemaViolation):
        plots.sweep_heatmap(rows, x="start_tick", y="threshold")
