"""A paper run against the backtest: the same games decision for decision, and the ensemble.

`backtest_rows` plays a strategy with the backtest engine on given recorded games in order
(one bankroll) and gives the `paper_decisions` / `paper_results` rows a paper run on those
games writes: what `tests/paper` checks a replayed capture against, row for row.

`compare_with_ensemble` asks whether a paper run's result is what the backtest expects of
the strategy: it plays an ensemble of independent bankrolls for as many games as the run
played and places the run's final bankroll, P&L, bets, wins and stakes in the spread across
paths (a central band, and the share of paths at or below the run's value).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from rugslab.errors import ConfigError
from rugslab.paper.records import PaperRecords
from rugslab.strategy.builtins import make_strategy
from rugslab.strategy.engine import ExecutionRules, play_chunk
from rugslab.strategy.ensemble import run_ensemble
from rugslab.strategy.orders import OrderLog
from rugslab.strategy.protocol import Strategy
from rugslab.strategy.sources import InOrderSource, LakeGames, MonteCarloSource, Source
from rugslab.tables.batch import RowBatch
from rugslab.tables.schemas import require_columns

#: The run id on rows `backtest_rows` builds (they belong to no paper run).
BACKTEST_RUN_ID = "0" * 32
#: Metrics `compare_with_ensemble` compares: paper run's value ↔ `PathSummaries` field.
METRICS = ("final_sol", "pnl_sol", "bets", "wins", "staked_sol")


def backtest_rows(strategy: Strategy, rules: ExecutionRules, games: LakeGames, *,
                  params_json: str = "{}") -> RowBatch:
    """The rows a paper run would write, from the backtest engine on `games` in order.

    Args:
        strategy: the strategy; rules: bankroll, latency, ruin rule (the run's).
        games: the games, in the order played (`sources.select_games(lake_games(...), ids)`).
        params_json: the strategy's parameters as the run wrote them.

    Returns:
        A `RowBatch` with `paper_decisions` and `paper_results` rows (run id
        `BACKTEST_RUN_ID`; `seen_tick`, `decided_ts`, `settled_ts` null).
    """
    log = OrderLog()
    name = getattr(strategy, "name", type(strategy).__name__)
    if games.n:
        stream = InOrderSource(games).stream(1, games.n, np.random.SeedSequence(0))
        play_chunk(strategy, stream, rules, n=1, games=games.n,
                   checkpoints=np.zeros(1, np.int64), log=log)
    rec = PaperRecords(BACKTEST_RUN_ID, name, params_json, rules.latency_ticks)
    ids = [str(g) for g in games.game_id.tolist()]
    for ev in log.events:
        rec.add(ev, game_id=ids[ev.game])
    for k, gid in enumerate(ids):
        rug = int(games.end_tick[k]) + 1 if games.rugged[k] else None
        rec.close_game(gid, rug_tick=rug)
    return rec.take()


def _percentile(values: np.ndarray, x: float) -> float:
    """Share of `values` below `x`, ties counted half (a mid-rank: 0.5 when all equal)."""
    return float(np.mean(values < x) + 0.5 * np.mean(values == x))


def compare_with_ensemble(paper_results: pl.DataFrame, strategy: str,
                          params: Mapping[str, object] | None = None, *, games: int,
                          rules: ExecutionRules | None = None, source: Source | None = None,
                          paths: int = 1000, seed: int = 0, level: float = 0.9,
                          run_id: str | None = None) -> pl.DataFrame:
    """Is a paper run's result inside the backtest ensemble's band for the same strategy?

    Args:
        paper_results: the `paper_results` table (or its rows of one run).
        strategy, params: the strategy the run played and its parameters.
        games: games the run played (its summary's `games played`).
        rules: the run's bankroll, latency and ruin rule (default `ExecutionRules()`).
        source: the ensemble's games (default: the provably-fair generator).
        paths: independent bankrolls; seed: the ensemble's seed.
        level: the central share of paths the band holds (0.9: 5th to 95th percentile).
        run_id: the run (needed when `paper_results` holds several).

    Returns:
        One row per metric (`final_sol`, `pnl_sol`, `bets`, `wins`, `staked_sol`): `metric`,
        `paper` (the run's value; void bets left out), `ensemble_mean`, `lo`, `hi` (the band),
        `percentile` (share of paths below the run's value, ties half), `inside`.

    Raises:
        ConfigError: several runs and no `run_id`, an unknown run, games < 1, a level
            outside (0, 1), or a bad strategy or parameter.
        SchemaViolation: `paper_results` lacks a column.
    """
    require_columns(paper_results, ("run_id", "outcome", "stake_sol", "pnl_sol"),
                    table="paper_results")
    runs = paper_results["run_id"].unique().to_list()
    if run_id is None and len(runs) > 1:
        raise ConfigError(f"paper_results holds {len(runs)} runs: pass run_id= one of "
                          f"{sorted(runs)[:5]}.")
    if run_id is not None and run_id not in runs:
        raise ConfigError(f"Unknown run_id {run_id!r}: paper_results holds {sorted(runs)[:5]}.")
    if not 0 < level < 1:
        raise ConfigError(f"Invalid level {level!r}: expected a share of paths in (0, 1).")
    if games < 1:
        raise ConfigError(f"Invalid games {games!r}: expected the games the run played (≥ 1).")
    rules = rules or ExecutionRules()
    rows = paper_results.filter(pl.col("outcome") != "void")
    if run_id is not None:
        rows = rows.filter(pl.col("run_id") == run_id)
    pnl = rows["pnl_sol"].to_numpy().astype(float)
    paper = {"final_sol": rules.bankroll_sol + float(pnl.sum()), "pnl_sol": float(pnl.sum()),
             "bets": float(rows.height), "wins": float((pnl > 0).sum()),
             "staked_sol": float(rows["stake_sol"].sum())}
    ens = run_ensemble(make_strategy(strategy, params), source or MonteCarloSource(),
                       paths=paths, games_per_path=games, seed=seed, rules=rules)
    s = ens.summaries
    out = []
    for metric in METRICS:
        values = np.asarray(getattr(s, metric), float)
        lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
        x = paper[metric]
        out.append({"metric": metric, "paper": x, "ensemble_mean": float(values.mean()),
                    "lo": float(lo), "hi": float(hi), "percentile": _percentile(values, x),
                    "inside": bool(lo <= x <= hi)})
    return pl.DataFrame(out)
