"""Pandera models of the paper-trading tables (`rugslab paper`, `rugslab.paper`).

A paper run plays a strategy of the backtest engine on the live feed, by the backtest's
execution rules, and never sends anything to rugs.fun. Its rows:

    paper_decisions  one row per order a strategy gave: when it was decided (and when the
                     run could first have known that tick), what it asked for, and when and
                     at what price it filled, or why it never did. Key (run_id, order_no).
    paper_results    one row per side bet or position those orders opened: how and when it
                     was settled, what it paid back, and the run's cash after it. Key
                     (run_id, order_no) of the order that opened it.
    paper_games      one row per game the run observed: played (how its end was learnt:
                     rug, revealed path, cap, or censored) or skipped (why), its orders,
                     bets and the bankroll before and after. Key (run_id, game_id). A run's
                     games observed / played are its rows (the named query `paper_runs`).

All are append tables partitioned by the game's date, written at the end of each game (a
skipped game's row with the next write; the live `paper` channel carries the same events as
they happen). A run is one `run_id`; its strategy (`strategy_name`) and parameters
(`params_json`, the checked values, keys sorted) are on every row.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from rugslab.feed.rules import AMOUNT_MAX_SOL, GAME_ID_PATTERN, PRICE_MAX_X, TICK_MAX
from rugslab.tables.fields import UTC_TS, LakeRow

#: `paper_decisions.kind`: the orders a strategy can give (`rugslab.strategy.orders`).
ORDER_KINDS = ("sidebet", "buy", "sell")
#: `paper_decisions.status`: filled, never filled (lapsed) or void (its game's end unknown,
#: or in a backtest's rows a censored game's record stopped before the fill tick).
ORDER_STATUSES = ("filled", "lapsed", "void")
#: `paper_results.kind`: a side bet, or a position a buy opened.
RESULT_KINDS = ("sidebet", "position")
#: `paper_results.outcome`: side bets win or lose; positions are sold, wiped by the rug or
#: sold at the cap; void: a censored game (the run never saw its end, or in a backtest's rows
#: its record stopped) left it undecided (stake back: payout = stake, P&L 0).
OUTCOMES = ("won", "lost", "sold", "wiped", "capped", "void")
#: `paper_games.status`: played to an end (known or censored), or skipped.
GAME_STATUSES = ("played", "skipped")
#: `paper_games.ended_by`: its rug frame, a later `gameHistory`'s price path, the cap, or
#: nothing (censored at its last tick seen alive: `rugslab.paper.trader`).
GAME_ENDS = ("rug", "history", "cap", "censored")
_RUN_ID = {"min_value": 32, "max_value": 32}


class _PaperRow(LakeRow):
    """The columns every paper table starts with: the run, its strategy."""

    run_id: str = pa.Field(str_length=_RUN_ID)
    strategy_name: str  # not `strategy`: that name is pandera's DataFrameModel.strategy()
    params_json: str


class _PaperRunRow(_PaperRow):
    """The columns both order tables start with: the run, its order, its strategy, the game."""

    order_no: pl.Int32 = pa.Field(ge=0)
    game_id: str = pa.Field(str_matches=GAME_ID_PATTERN)


class PaperDecisionRow(_PaperRunRow):
    """One order of a paper run.

    `decision_tick` is the tick the strategy decided at; `seen_tick` the newest tick the run
    had seen then (greater when the decision tick reached the run late, through a frame's
    `partialPrices` window after missed frames: the backtest rule decides at every tick).
    `cash_sol` is the run's cash when it decided; `fill_*` are null unless `status` is filled.
    """

    kind: str = pa.Field(isin=ORDER_KINDS)
    decision_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX)
    seen_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    decided_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]
    latency_ticks: pl.Int32 = pa.Field(ge=0)
    stake_sol: pl.Float64 = pa.Field(ge=0, le=AMOUNT_MAX_SOL, nullable=True)
    cash_sol: pl.Float64 = pa.Field(ge=0)
    status: str = pa.Field(isin=ORDER_STATUSES)
    reason: str = pa.Field(nullable=True)
    fill_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    fill_price_x: pl.Float64 = pa.Field(ge=0, le=PRICE_MAX_X, nullable=True)
    filled_stake_sol: pl.Float64 = pa.Field(ge=0, le=AMOUNT_MAX_SOL, nullable=True)

    class Config:
        name = "paper_decisions"


class PaperResultRow(_PaperRunRow):
    """One side bet or position of a paper run, settled (or void).

    `settle_tick`: a won side bet's rug tick, a lost one's window end (start + 40), a sold
    position's sell fill, a wiped one's rug tick, a capped one's last tick. `bankroll_sol`:
    the run's cash after the settlement (what it holds apart from stakes still at risk).
    """

    kind: str = pa.Field(isin=RESULT_KINDS)
    decision_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX)
    fill_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX)
    fill_price_x: pl.Float64 = pa.Field(ge=0, le=PRICE_MAX_X, nullable=True)
    stake_sol: pl.Float64 = pa.Field(ge=0, le=AMOUNT_MAX_SOL)
    outcome: str = pa.Field(isin=OUTCOMES)
    settle_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    exit_price_x: pl.Float64 = pa.Field(ge=0, le=PRICE_MAX_X, nullable=True)
    rug_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    payout_sol: pl.Float64 = pa.Field(ge=0, nullable=True)
    pnl_sol: pl.Float64 = pa.Field(nullable=True)
    bankroll_sol: pl.Float64 = pa.Field(ge=0)
    settled_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]

    class Config:
        name = "paper_results"


class PaperGameRow(_PaperRow):
    """One game a paper run observed.

    `game_no`: 0, 1, ... in the order the run observed its games. `reason`: why it was
    skipped (joined late, the bankroll stopped), or why a played game is censored.
    `joined_tick`: the tick of the first frame the run saw of it (null: seen before its
    start). `end_tick`: the game's last tick as the engine settled it (the rug tick − 1, the
    cap, or a censored game's last tick seen alive; null when skipped). `orders`: orders
    decided in it; `bets`: bets and positions settled in it (void ones not counted);
    `voided`: those a censored end left undecided. `bankroll_start_sol` / `bankroll_sol`:
    the run's cash before and after it. `seen_ts`: the receive time of its first frame;
    `ended_ts`: of the frame that ended it (the next game's, for a revealed path or a
    censored end; the last frame read, for a stop).
    """

    game_id: str = pa.Field(str_matches=GAME_ID_PATTERN)
    game_no: pl.Int32 = pa.Field(ge=0)
    status: str = pa.Field(isin=GAME_STATUSES)
    reason: str = pa.Field(nullable=True)
    ended_by: str = pa.Field(isin=GAME_ENDS, nullable=True)
    joined_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    end_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    rug_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    orders: pl.Int32 = pa.Field(ge=0)
    bets: pl.Int32 = pa.Field(ge=0)
    voided: pl.Int32 = pa.Field(ge=0)
    bankroll_start_sol: pl.Float64 = pa.Field(ge=0)
    bankroll_sol: pl.Float64 = pa.Field(ge=0)
    seen_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]
    ended_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]

    class Config:
        name = "paper_games"
