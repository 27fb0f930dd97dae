"""Every chart builder returns a chart whose Vega-Lite spec builds and carries the data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from rugslab import plots
from rugslab.analysis import hazard, sidebet, survival, timing
from rugslab.analysis.calibration import calibration
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


def test_interval_histogram_bins_on_a_log_axis_and_counts_stalls() -> None:
    t0 = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
    ms = np.cumsum(np.r_[0, np.full(20_000, 250.0), 5.0, 3000.0])
    ticks = pl.DataFrame({"game_id": "g", "tick": np.arange(ms.size),
                          "recv_ts": [t0 + dt.timedelta(milliseconds=float(m)) for m in ms]})
    chart = plots.interval_histogram(timing.tick_intervals(ticks), per_decade=10)
    spec = _check(chart)
    bins = max(_values(spec), key=len)
    assert len(bins) < 50  # binned: not 20,002 raw rows
    assert sum(b["count"] for b in bins) == 20_002
    assert bins[-1]["count"] == 1  # the 3000 ms stall
    assert spec["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    assert "1 stalls" in spec["title"]
    with pytest.raises(ConfigError):
        plots.interval_histogram(timing.tick_intervals(ticks), per_decade=0)


def _games(rug: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"game_id": [str(i) for i in range(rug.size)], "rug_tick": rug,
                         "last_live_tick": rug - 1, "first_live_tick": 0})


def test_hazard_chart_draws_the_pooled_tail_over_its_ticks() -> None:
    rug = np.random.default_rng(1).geometric(0.005, 2000)
    curve = hazard.binned_hazard(hazard.hazard_curve(_games(rug), max_tick=300), bin_ticks=25)
    spec = _check(plots.hazard_chart(curve))
    rows = max(_values(spec), key=len)
    tail = [r for r in rows if r["part"].startswith("pooled tail")]
    assert len(tail) == 1 and tail[0]["tick"] == 300 and tail[0]["end"] == rug.max() + 1
    spec = _check(plots.rug_tick_distribution(pl.Series(rug), bin_ticks=50, max_tick=1000))
    rows = max(_values(spec), key=len)
    assert sum(r["count"] for r in rows) == 2000
    assert sum(r["expected"] for r in rows) == pytest.approx(2000)


def test_survival_and_drift_charts() -> None:
    rug = np.random.default_rng(3).geometric(0.005, 500)
    spec = _check(plots.survival_chart(survival.kaplan_meier(_games(rug))))
    assert "Greenwood" in spec["title"]
    t0 = dt.datetime(2025, 11, 3, tzinfo=dt.UTC)
    drift = pl.DataFrame({  # hours 0, 1, 2 then a gap of a day: two runs, no line across
        "period_start": [t0 + dt.timedelta(hours=h) for h in (0, 1, 2, 26, 27)],
        "n": [10] * 5, "mean_ms": [250.0] * 5, "median_ms": [249.0] * 5})
    rows = max(_values(_check(plots.drift_chart(drift))), key=len)
    assert sorted({r["run"] for r in rows}) == [0, 1]


def test_reliability_and_ev_charts() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0.1, 0.3, 500)
    cal = calibration(p, rng.random(500) < p, groups=np.arange(500) // 10, bins=5)
    spec = _check(plots.reliability_diagram({"constant": cal, "timing": cal}))
    domain = spec["layer"][1]["encoding"]["x"]["scale"]["domain"]
    assert 0.0 < domain[0] < 0.1 and 0.3 < domain[1] < 0.5  # zoomed on predictions 0.1-0.3
    assert "game bootstrap" in spec["title"]
    rug = rng.geometric(0.005, 5000)
    frames = {
        "analytic": sidebet.analytic_sidebet_ev([0, 100, 200]),
        "monte carlo": sidebet.montecarlo_sidebet_ev(rug, [0, 100, 200]),
    }
    spec = _check(plots.ev_by_start_tick(frames))
    rows = max(_values(spec), key=len)
    assert {r["source"] for r in rows} == {"analytic", "monte carlo"}
    assert "pointwise" in spec["title"]
    assert "simultaneous" in _check(plots.ev_by_start_tick(frames, band="simultaneous"))["title"]


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
