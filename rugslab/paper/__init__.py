"""Paper trading: a strategy of the backtest engine played live on the feed, never betting.

    observe   what a run reads from a `gameStateUpdate`: game, phase, tick, prices, rug tick
    stream    the live game as the engine's `GameStream` (one path, prices as they come)
    trader    `PaperTrader`: frames in, the engine's own step per tick, events and rows out
    records   the order log's events as `paper_decisions` / `paper_results` rows and messages
    run       `paper_async` / `run_paper`: the live feed or a replayed file, rows to the lake
    summary   `PaperSummary`: what a run did
    compare   `backtest_rows` (the backtest on the same games, row for row) and
              `compare_with_ensemble` (is the run inside the ensemble's band?)

Nothing is ever sent to rugs.fun: the feed is read by the listen-only client, and paper
trading is simulation on observed prices by the backtest's execution rules
(`rugslab.strategy.engine`). The CLI is `rugslab paper`; events go to an `on_event` callback
(the live server's `paper` channel).
"""

from rugslab.paper.compare import backtest_rows, compare_with_ensemble
from rugslab.paper.run import PaperOptions, paper_async, run_paper
from rugslab.paper.summary import PaperSummary
from rugslab.paper.trader import PaperTrader

__all__ = ["PaperOptions", "PaperSummary", "PaperTrader", "backtest_rows",
           "compare_with_ensemble", "paper_async", "run_paper"]
