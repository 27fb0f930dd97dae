"""A paper run's result against the backtest ensemble's spread for the same strategy."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from rugslab.errors import ConfigError
from rugslab.paper.compare import METRICS, backtest_rows, compare_with_ensemble
from rugslab.strategy.builtins import make_strategy
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.ensemble import run_ensemble
from rugslab.strategy.sources import LakeGames, MonteCarloSource
from rugslab.tables.paper import PaperDecisionRow, PaperResultRow

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


def test_backtest_rows_of_a_censored_game_are_void_as_a_void_paper_game_is() -> None:
    # two recorded games whose rugs were not recorded: alive at 300 (the bet over 11..51 is a
    # known loss), at 30 (the window reaches past it: void, stake back). A bet decided at the
    # last recorded tick of a third censored game would fill after it: status void
    ids = np.array([f"20251212-{i:016x}" for i in (1, 2, 3)])
    end = np.array([300, 30, 10], np.int64)
    offset = np.concatenate([[0], np.cumsum(end + 1)[:-1]]).astype(np.int64)
    price = np.ones(int((end + 1).sum()))
    games = LakeGames(ids, end, np.zeros(3, bool), np.ones(3, bool), offset, price,
                      np.arange(price.size) / 4.0)
    rows = backtest_rows(make_strategy("sidebet-fixed", {"stake": 1.0, "start_tick": 10}),
                         ExecutionRules(), games)
    r = PaperResultRow.validate(rows.frame("paper_results"))
    d = PaperDecisionRow.validate(rows.frame("paper_decisions"))
    assert r["outcome"].to_list() == ["lost", "void"]
    assert (r["payout_sol"].to_list(), r["pnl_sol"].to_list()) == ([0.0, 1.0], [-1.0, 0.0])
    assert r["settle_tick"].to_list() == [51, 30] and r["rug_tick"].null_count() == 2
    assert d["status"].to_list() == ["filled", "filled", "void"]
    assert d["reason"].to_list()[2] == "censored"
    # void rows are left out of the run's result, as the ensemble leaves them out of `bets`
    got = compare_with_ensemble(r, "sidebet-fixed", {"stake": 1.0}, games=3, paths=20)
    assert got.row(2, named=True)["paper"] == 1.0
