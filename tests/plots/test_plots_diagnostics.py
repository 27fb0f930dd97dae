"""The diagnostic chart builders return charts whose Vega-Lite spec builds and carries data."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from rugslab import plots
from rugslab.analysis import survival, timing, timing_hazard
from rugslab.errors import ConfigError
from rugslab.sim.timed import simulate_timed_lake


def _rows(spec: dict) -> list[dict]:
    return max(spec.get("datasets", {}).values(), key=len)


def test_diagnostic_charts_build() -> None:
    games, ticks = simulate_timed_lake(60, stall_prob=0.001, seed=1)
    iv = timing.tick_intervals(ticks, games)
    spec = plots.interval_distribution_by(iv, by="day").to_dict()
    assert {r["day"] for r in _rows(spec)} == {"2026-01-01"}
    spec = plots.interval_distribution_by(iv, by="session").to_dict()
    assert {r["session"] for r in _rows(spec)} == {"session 1"}
    with pytest.raises(ConfigError, match="'day' or 'session'"):
        plots.interval_distribution_by(iv, by="hour")  # type: ignore[arg-type]
    plots.qq_chart(survival.survival_qq(games)).to_dict()
    table = timing_hazard.timing_hazard_table(timing_hazard.hazard_rows(ticks, games))
    spec = plots.effect_chart(table, margin=timing_hazard.equivalence_margin()).to_dict()
    assert {r["feature"] for r in _rows(spec)} >= {"log_mean_interval"}
    pit = pl.DataFrame({"pit": np.random.default_rng(2).random(100)})
    spec = plots.pit_histogram(pit).to_dict()
    assert sum(r["count"] for r in _rows(spec)) == 100
    with pytest.raises(ConfigError, match="margin"):
        plots.effect_chart(table, margin=1.0)
