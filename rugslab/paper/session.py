"""One paper run whatever feeds it: the trader, its lake writes, status lines and summary.

    session = PaperSession("sidebet-fixed", {"stake": "0.1"}, ExecutionRules(), lake=lake,
                           source=url, on_event=publish)
    session.on_frame(frame)              # every frame, as it arrives
    await session.run_timers(done)       # meanwhile: each game's rows written at its end
    summary = await session.finish(seconds)

`rugslab paper` (`rugslab.paper.run`) feeds a session from the listen-only client or a
recorded file; `rugslab serve live --paper` (`rugslab.live.run`) feeds one per strategy from
the live server's own frames, publishing the events on the `paper` channel. Each game's rows
(`paper_decisions`, `paper_results`, `paper_games`) are written at its end by `write_batch`
(so the pandera models guard every row), in a worker thread so the socket keeps being read;
a failed write keeps the rows for the next attempt. Without a lake the rows are counted and
let go (the events still go to `on_event`).

The session needs no collector lock: it writes only the paper tables, so it can run beside
`rugslab collect` (or the live server's collector) on the same lake (Delta's optimistic
commits).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from rugslab.feed.frames import Frame
from rugslab.lake.writer import write_batch
from rugslab.paper.records import DECISIONS, GAMES, RESULTS
from rugslab.paper.summary import PaperSummary
from rugslab.paper.trader import CENSORED, EventSink, PaperTrader
from rugslab.strategy.builtins import make_strategy
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.protocol import Strategy
from rugslab.tables.batch import RowBatch

#: Seconds between two looks for rows to write.
FLUSH_EVERY_S = 0.25


def params_json(strategy: Strategy) -> str:
    """The strategy's parameters (every field of a built-in but its name) as sorted JSON."""
    if dataclasses.is_dataclass(strategy) and not isinstance(strategy, type):
        values = {f.name: getattr(strategy, f.name) for f in dataclasses.fields(strategy)
                  if f.name != "name"}
        return json.dumps(values, sort_keys=True)
    return "{}"


class PaperSession:
    """A paper run of built-in strategy `strategy` (module docstring).

    Args:
        strategy, params: the built-in strategy and its parameters (`make_strategy`).
        rules: bankroll, latency, ruin rule.
        source: what feeds it (a URL or a file), for the summary.
        lake: where the rows go (None: not written).
        on_event: called with every event dict (the `paper` channel's messages).
        out: where status lines go (None: silent); `tag` starts each (`[paper]`).
        max_games: games after which `done` is set (None: no limit).

    Raises:
        ConfigError: an unknown strategy or a bad parameter.
    """

    def __init__(self, strategy: str, params: Mapping[str, object], rules: ExecutionRules, *,
                 source: str, lake: Path | None, on_event: EventSink | None = None,
                 out: TextIO | None = None, tag: str = "[paper]",
                 max_games: int | None = None) -> None:
        s = make_strategy(strategy, params)
        self.rules, self.lake, self.user_sink, self.out, self.tag = rules, lake, on_event, out, tag
        self.max_games = max_games
        self.trader = PaperTrader(s, rules, params_json=params_json(s), on_event=self._on_event)
        self.summary = PaperSummary(self.trader.run_id, strategy, self.trader.records.params_json,
                                    source, rules.bankroll_sol, lake=None if lake is None
                                    else str(lake))
        #: set when the run has nothing more to do: `max_games` played, or stopped at ruin
        self.done = asyncio.Event()
        self.pending = RowBatch()
        self.write_lock = asyncio.Lock()
        self.flush_due = False
        self.failed_in_row = 0
        self.finished = False

    @property
    def run_id(self) -> str:
        """The run's id (32 hex digits, on every row and event)."""
        return self.trader.run_id

    def announce(self) -> None:
        """Print the run's first status line: its id, strategy, source and rules."""
        r, sm = self.rules, self.summary
        self.say(f"run {self.run_id}: {sm.strategy} {sm.params_json} on {sm.source}; bankroll "
                 f"{r.bankroll_sol:g} SOL, latency {r.latency_ticks} tick(s); nothing is sent "
                 "to rugs.fun")

    # -- frames and events ----------------------------------------------------------------
    def on_frame(self, frame: Frame) -> None:
        """Take one frame (ignored once the run is done or finished)."""
        self.summary.frames += 1
        if not (self.finished or self.done.is_set()):
            self.trader.feed(frame)

    def _on_event(self, ev: dict[str, Any]) -> None:
        kind = ev["type"]
        if kind == "game_end":
            self.flush_due = True
            pnl = ev["bankroll_sol"] - self.rules.bankroll_sol
            b = self.trader.book
            how = (f"censored at tick {ev['end_tick']} ({ev['reason']})"
                   if ev["ended_by"] == CENSORED else f"rugged at tick {ev['rug_tick']}"
                   if ev["rug_tick"] is not None else f"ran to the cap ({ev['end_tick']})")
            self.say(f"game {ev['game_id']} {how}: bankroll {ev['bankroll_sol']:.4f} SOL "
                     f"({pnl:+.4f}); {ev['games_played']} games, {int(b.bets[0])} bets, "
                     f"{int(b.wins[0])} won")
            if self.max_games and ev["games_played"] >= self.max_games:
                self.summary.stop_reason = f"{self.max_games} games played"
                self.done.set()
            if self.trader.stopped:
                self.summary.stop_reason = "the bankroll stopped at ruin (--stop-at-ruin)"
                self.done.set()
        elif kind == "game_skipped":
            self.flush_due = True
            self.say(f"game {ev['game_id']} skipped: {ev['reason']}")
        elif kind == "order":
            late = ("" if ev["seen_tick"] is None or ev["seen_tick"] <= ev["tick"]
                    else f" (late: seen at tick {ev['seen_tick']})")
            stake = "" if ev["stake_sol"] is None else f" {ev['stake_sol']:g} SOL"
            self.say(f"{ev['kind']}{stake} at tick {ev['tick']}{late}")
        if self.user_sink is not None:
            self.user_sink(ev)

    def say(self, text: str) -> None:
        """Print a status line (tagged) to `out`."""
        if self.out is not None:
            print(f"{self.tag} {text}", file=self.out, flush=True)

    # -- lake -----------------------------------------------------------------------------
    async def flush(self) -> bool:
        """Write the rows of the games ended so far; False (rows kept) when the write fails."""
        async with self.write_lock:
            self.flush_due = False
            self.pending.merge(self.trader.take_rows())
            if not len(self.pending):
                return True
            batch, self.pending = self.pending, RowBatch()
            if self.lake is None:  # nowhere to write: the events went out, the rows go
                return True
            try:
                report = await asyncio.to_thread(write_batch, self.lake, batch)
            except Exception as e:  # any failure of the write: keep the rows, try again later
                self.pending.merge(batch)
                self.failed_in_row += 1
                self.summary.write_failures += 1
                self.summary.write_error = f"{type(e).__name__}: {e}"
                if self.failed_in_row == 1:
                    self.say(f"LAKE WRITE FAILED ({self.summary.write_error}); the rows are "
                             "held and written with the next game")
                return False
            self.failed_in_row = 0
            self.summary.write_error = None
            self.summary.decisions_written += report.new(DECISIONS)
            self.summary.results_written += report.new(RESULTS)
            self.summary.games_written += report.new(GAMES)
            self.summary.rows_rejected += sum(t.rejected for t in report.tables.values())
            return True

    async def run_timers(self, until: asyncio.Event) -> None:
        """Write each game's rows soon after its end, until `until` is set."""
        while not until.is_set():
            await asyncio.sleep(FLUSH_EVERY_S)
            if self.flush_due:
                await self.flush()

    async def finish(self, seconds: float) -> PaperSummary:
        """End the run: the game in play is censored (`PaperTrader.stop`), what is held is
        written, the summary filled; returns it. Later frames are ignored."""
        self.finished = True
        self.trader.stop()
        if not await self.flush():
            self.say(f"the last rows could not be written: {self.summary.write_error}")
        self.summary.fill(self.trader, seconds)
        return self.summary

    def end_event(self) -> dict[str, Any]:
        """The `run_end` event: the run's summary (after `finish`)."""
        return {"type": "run_end", **self.summary.to_dict()}
