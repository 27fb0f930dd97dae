"""A paper run's result against the backtest ensemble's spread for the same strategy."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from rugslab.errors import ConfigError
from rugslab.paper.compare import METRICS, compare_with_ensemble
from rugslab.strategy.builtins import make_strategy
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.ensemble import run_ensemble
from rugslab.strategy.sources import MonteCarloSource

RUN = "a" * 32


def _results(outcomes: list[str], pnl: list[float | None], run: str = RUN) -> pl.DataFrame:
    return pl.DataFrame({"run_id": [run] * len(outcomes), "outcome": outcomes,
                         "stake_sol": [0.1] * len(outcomes), "pnl_sol": pnl},
                        schema_overrides={"pnl_sol": pl.Float64})


def test_a_paper_run_is_placed_in_the_spread_of_the_ensemble_of_the_same_games() -> None:
    paper = _results(["won", "lost", "lost", "void"], [0.4, -0.1, -0.1, None])
    got = compare_with_ensemble(paper, "sidebet-fixed", {"stake": 0.1}, games=6, paths=300,
                                seed=3)
    assert got["metric"].to_list() == list(METRICS)
    ens = run_ensemble(make_strategy("sidebet-fixed", {"stake": 0.1}), MonteCarloSource(),
                       paths=300, games_per_path=6, seed=3)
    final = ens.summaries.final_sol
    row = got.row(0, named=True)
    assert row["paper"] == pytest.approx(10.2)  # the void bet is left out
    lo, hi = np.quantile(final, [0.05, 0.95])
    assert (row["lo"], row["hi"], row["ensemble_mean"]) == (lo, hi, final.mean())
    assert row["percentile"] == np.mean(final < row["paper"]) + 0.5 * np.mean(
        final == row["paper"])
    assert row["inside"] == (lo <= row["paper"] <= hi)
    by = {r["metric"]: r for r in got.iter_rows(named=True)}
    assert (by["bets"]["paper"], by["wins"]["paper"], by["staked_sol"]["paper"]) == (
        3.0, 1.0, pytest.approx(0.3))


def test_a_result_no_path_of_the_ensemble_reaches_is_outside_the_band() -> None:
    paper = _results(["won"] * 30, [0.4] * 30)
    got = compare_with_ensemble(paper, "sidebet-fixed", games=30, paths=200,
                                rules=ExecutionRules(bankroll_sol=5.0))
    final = got.row(0, named=True)
    assert final["paper"] == pytest.approx(17.0)
    assert (final["inside"], final["percentile"]) == (False, 1.0)


def test_the_run_must_be_named_when_the_table_holds_several() -> None:
    two = pl.concat([_results(["won"], [0.4]), _results(["lost"], [-0.1], run="b" * 32)])
    with pytest.raises(ConfigError, match="holds 2 runs: pass run_id="):
        compare_with_ensemble(two, "sidebet-fixed", games=3, paths=50)
    got = compare_with_ensemble(two, "sidebet-fixed", games=3, paths=50, run_id="b" * 32)
    assert got.row(1, named=True)["paper"] == pytest.approx(-0.1)
    with pytest.raises(ConfigError, match="Unknown run_id 'c"):
        compare_with_ensemble(two, "sidebet-fixed", games=3, run_id="c" * 32)
    with pytest.raises(ConfigError, match=r"Invalid level 1\.5"):
        compare_with_ensemble(two, "sidebet-fixed", games=3, run_id="b" * 32, level=1.5)
