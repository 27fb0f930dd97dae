"""The strategy lab: backtests that cannot see the future, on ensembles of independent bankrolls.

    protocol   the streaming Strategy protocol: TickView (one tick, a batch of paths), Decision
    engine     execution rules (latency, side bets, trading, stake cap, ruin, the cap, censored
               games) and the engine that plays a chunk of paths, each on its own clock
    book       the engine's per-path state and the per-path summaries a chunk returns
    orders     the order log: each order's decision, fill or lapse, and settlement
    sources    games from the provably-fair generator or the lake's real games (block bootstrap)
    ensemble   run_ensemble: chunks (pure functions of their inputs) through any map-like executor
    ray_engine the chunks as Ray tasks (this machine or a cluster): ray_executor, ray_map
    metrics    ensemble metrics with intervals across paths ("n too small" instead of a fake one)
    sweep      a grid over a strategy's parameters → one row per point
    builtins   the built-in strategies and their registry (`rugslab backtest --list`)
    oracle     exact ruin probability and EV of the fixed side bet (a Markov chain)
    report     one backtest as `rugslab backtest` runs it, as text or JSON

The CLI (`rugslab backtest`) and notebook 04 call these; charts are in `rugslab.plots`.
"""

from rugslab.strategy.book import PathSummaries
from rugslab.strategy.builtins import STRATEGIES, make_strategy, parse_params
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.ensemble import Ensemble, compare, run_ensemble
from rugslab.strategy.metrics import EnsembleMetrics, Interval
from rugslab.strategy.orders import OrderEvent, OrderLog
from rugslab.strategy.protocol import Decision, Strategy, TickView
from rugslab.strategy.sources import LakeSource, MonteCarloSource, lake_games

__all__ = [
    "STRATEGIES", "Decision", "Ensemble", "EnsembleMetrics", "ExecutionRules", "Interval",
    "LakeSource", "MonteCarloSource", "OrderEvent", "OrderLog", "PathSummaries", "Strategy",
    "TickView", "compare", "lake_games", "make_strategy", "parse_params", "run_ensemble",
]
