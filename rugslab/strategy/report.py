"""One backtest as the CLI runs it: a registered strategy on an ensemble, and its summary.

`run_backtest` builds the strategy from its name and `k=v` parameters, runs the ensemble and
returns a `BacktestReport`; `report.to_dict()` is the JSON object of `rugslab backtest
--format json`, `str(report)` its text. For `sidebet-fixed` the report adds the exact values
of the published process (`rugslab.strategy.oracle`) next to the ensemble's: the generator
source should agree with them within its intervals; real games may not, and that is the
question.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from rugslab.strategy.builtins import make_strategy, strategy_spec
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.ensemble import DEFAULT_CHUNK_PATHS, Ensemble, Executor, run_ensemble
from rugslab.strategy.metrics import EnsembleMetrics
from rugslab.strategy.oracle import fixed_sidebet_ev, fixed_sidebet_ruin
from rugslab.strategy.sources import Source

#: Largest games × states the exact ruin probability is computed for (about a second).
ORACLE_MAX_WORK = 50_000_000


def _clean(v: object) -> object:
    return None if isinstance(v, float) and not math.isfinite(v) else v


@dataclass(frozen=True, slots=True)
class BacktestReport:
    """A finished backtest: the strategy with every parameter, the ensemble, its metrics,
    and the exact reference values where there are some (`exact`)."""

    strategy: str
    params: dict[str, float | int]
    ensemble: Ensemble
    metrics: EnsembleMetrics
    exact: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (null where undefined): strategy, params, source, rules, seed, every
        metric of `EnsembleMetrics.to_dict`, and `exact_*` references."""
        r = self.ensemble.rules
        out: dict[str, object] = {
            "strategy": self.strategy, "params": self.params, "source": self.ensemble.source,
            "seed": self.ensemble.seed, "latency_ticks": r.latency_ticks,
            "stop_at_ruin": r.stop_at_ruin, **self.metrics.to_dict(),
            **{f"exact_{k}": v for k, v in self.exact.items()}}
        return {k: _clean(v) for k, v in out.items()}

    def __str__(self) -> str:
        params = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        src = ", ".join(f"{k}={v}" for k, v in self.ensemble.source.items())
        r = self.ensemble.rules
        lines = [f"{self.strategy} ({params})", f"source: {src}; seed {self.ensemble.seed}",
                 f"latency {r.latency_ticks} tick(s); at ruin: "
                 f"{'stop' if r.stop_at_ruin else 'bet what is left'}", str(self.metrics)]
        if self.exact:
            lines.append("exact, for the published process (Markov chain): " + ", ".join(
                f"{k} {v:.4g}" for k, v in self.exact.items()))
        return "\n".join(lines)


def run_backtest(name: str, params: Mapping[str, object], source: Source, *, paths: int,
                 games: int, seed: int = 0, rules: ExecutionRules | None = None,
                 workers: int | None = 1, chunk_paths: int = DEFAULT_CHUNK_PATHS,
                 executor: Executor | None = None, progress: bool = False) -> BacktestReport:
    """Run registered strategy `name` with `params` on `paths` × `games` from `source`, on
    `workers` processes or through `executor` (e.g. `ray_engine.ray_executor`'s; the same
    numbers either way).

    Raises:
        ConfigError: unknown strategy or parameter, bad value or size (the message names the
            argument, the value and what is allowed).
    """
    rules = rules or ExecutionRules()
    strategy = make_strategy(name, params)
    full = {p.name: getattr(strategy, p.name) for p in strategy_spec(name).params}
    e = run_ensemble(strategy, source, paths=paths, games_per_path=games, seed=seed,
                     rules=rules, chunk_paths=chunk_paths, executor=executor,
                     workers=workers, progress=progress)
    exact: dict[str, float] = {}
    if name == "sidebet-fixed":
        start = int(full["start_tick"]) + rules.latency_ticks
        exact["ev_per_bet"] = fixed_sidebet_ev(start, payout_x=rules.payout_x,
                                               window=rules.window_ticks)
        units = rules.bankroll_sol / float(full["stake"])
        if games * (games + min(units, games)) <= ORACLE_MAX_WORK:
            exact["ruin_probability"] = float(fixed_sidebet_ruin(
                bankroll_sol=rules.bankroll_sol, stake_sol=float(full["stake"]), games=games,
                bet_start_tick=start, payout_x=rules.payout_x, window=rules.window_ticks)[-1])
    return BacktestReport(strategy=name, params=full, ensemble=e, metrics=e.metrics(),
                          exact=exact)
