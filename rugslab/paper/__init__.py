"""Paper trading: a strategy of the backtest engine played live on the feed, never betting.

    observe   what a run reads from a `gameStateUpdate`: game, phase, tick, prices, rug tick
    stream    the live game as the engine's `GameStream` (one path, prices as they come)
    trader    `PaperTrader`: frames in, the engine's own step per tick, events and rows out
    records   the order log's events as `paper_decisions` / `paper_results` rows and messages,
              and each game's `paper_games` row
    session   `PaperSession`: a trader fed by any source, its rows written at each game's end
    run       `paper_async` / `run_paper`: the live feed or a replayed file into a session;
              `paper_specs` (the strategies of `rugslab serve live --paper`)
    summary   `PaperSummary`: what a run did
    compare   `backtest_rows` (the backtest on the same games, row for row) and
              `compare_with_ensemble` (is the run inside the ensemble's band?)

Nothing is ever sent to rugs.fun: the feed is read by the listen-only client, and paper
trading is simulation on observed prices by the backtest's execution rules
(`rugslab.strategy.engine`). The CLI is `rugslab paper`, or `rugslab serve live --paper`
(the live server's `paper` channel carries the events, `docs/live-api.md`).
"""

from rugslab.paper.compare import backtest_rows, compare_with_ensemble
from rugslab.paper.run import PaperOptions, paper_async, paper_specs, run_paper
from rugslab.paper.session import PaperSession
from rugslab.paper.summary import PaperSummary
from rugslab.paper.trader import PaperTrader

__all__ = ["PaperOptions", "PaperSession", "PaperSummary", "PaperTrader", "backtest_rows",
           "compare_with_ensemble", "paper_async", "paper_specs", "run_paper"]
