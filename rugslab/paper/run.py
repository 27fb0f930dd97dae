"""`rugslab paper`: the paper trader on the live feed (or a recorded file), rows to the lake.

Frames come from the listen-only client (`rugslab.collector.client.listen`: it never emits,
so nothing reaches rugs.fun) or from a file any reader reads (`--replay`, as fast as it
reads). Each frame goes to the `PaperTrader`; each game's rows are written at its end
(`write_batch`, so the pandera models guard every row), in a worker thread so the socket
keeps being read. A failed write keeps the rows for the next attempt. The run ends at
`duration_s`, after `max_games` games played, when the bankroll stops (ruin with
`stop_at_ruin`), at the end of a replayed file, or on SIGINT/SIGTERM; it then voids a game
left in play, writes what it holds and returns its summary.

The paper run needs no collector lock: it writes only `paper_decisions` and `paper_results`,
so it can run beside `rugslab collect` on the same lake (Delta's optimistic commits).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import signal
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rugslab.backoff import RECONNECT_BASE_S, RECONNECT_CAP_S, Backoff
from rugslab.collector.client import ConnectionEvent, listen
from rugslab.collector.run import STDERR, Out, status_stream
from rugslab.errors import ConfigError
from rugslab.feed.frames import BadRecord, Frame
from rugslab.lake.writer import write_batch
from rugslab.paper.summary import PaperSummary
from rugslab.paper.trader import EventSink, PaperTrader
from rugslab.readers import read_frames
from rugslab.strategy.builtins import make_strategy
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.protocol import Strategy
from rugslab.tables.batch import RowBatch

#: Frames read from a replayed file between two looks at the stop (and the event loop).
_REPLAY_SLICE = 256


@dataclass(frozen=True, slots=True)
class PaperOptions:
    """What `paper` does; see `rugslab paper --help` for the flags. Exactly one of `url`
    (listen to a feed) and `replay` (read a recorded file) is given."""

    strategy: str
    lake: Path
    params: Mapping[str, object] = field(default_factory=dict)
    url: str | None = None
    replay: Path | None = None
    rules: ExecutionRules = field(default_factory=ExecutionRules)
    duration_s: float | None = None
    max_games: int | None = None
    backoff_base_s: float = RECONNECT_BASE_S
    backoff_cap_s: float = RECONNECT_CAP_S

    def __post_init__(self) -> None:
        if (self.url is None) == (self.replay is None):
            raise ConfigError("Give one frame source: --feed URL (listen live) or --replay "
                              "FILE (a recorded capture), not both and not neither.")
        if self.max_games is not None and self.max_games < 1:
            raise ConfigError(f"Invalid --max-games {self.max_games}: expected at least 1 "
                              "(or omit it).")


def params_json(strategy: Strategy) -> str:
    """The strategy's parameters (every field of a built-in but its name) as sorted JSON."""
    if dataclasses.is_dataclass(strategy) and not isinstance(strategy, type):
        values = {f.name: getattr(strategy, f.name) for f in dataclasses.fields(strategy)
                  if f.name != "name"}
        return json.dumps(values, sort_keys=True)
    return "{}"


class _Run:
    def __init__(self, opts: PaperOptions, stop: asyncio.Event, on_event: EventSink | None,
                 out: TextIO | None) -> None:
        self.opts, self.stop, self.user_sink, self.out = opts, stop, on_event, out
        strategy = make_strategy(opts.strategy, opts.params)
        self.trader = PaperTrader(strategy, opts.rules, params_json=params_json(strategy),
                                  on_event=self._on_event)
        source = opts.url if opts.url is not None else str(opts.replay)
        self.summary = PaperSummary(self.trader.run_id, opts.strategy,
                                    self.trader.records.params_json, source,
                                    opts.rules.bankroll_sol)
        self.pending = RowBatch()
        self.write_lock = asyncio.Lock()
        self.flush_due = False
        self.failed_in_row = 0

    # -- events and status ----------------------------------------------------------------
    def _on_event(self, ev: dict[str, Any]) -> None:
        kind = ev["type"]
        if kind == "game_end":
            self.flush_due = True
            pnl = ev["bankroll_sol"] - self.opts.rules.bankroll_sol
            b = self.trader.book
            self._say(f"[paper] game {ev['game_id']} rugged at tick {ev['rug_tick']}: bankroll "
                      f"{ev['bankroll_sol']:.4f} SOL ({pnl:+.4f}); {ev['games_played']} games, "
                      f"{int(b.bets[0])} bets, {int(b.wins[0])} won")
            if self.opts.max_games and ev["games_played"] >= self.opts.max_games:
                self.summary.stop_reason = f"{self.opts.max_games} games played"
                self.stop.set()
            if self.trader.stopped:
                self.summary.stop_reason = "the bankroll stopped at ruin (--stop-at-ruin)"
                self.stop.set()
        elif kind == "void":
            self.flush_due = True
            self._say(f"[paper] game {ev['game_id']} void: {ev['reason']}")
        elif kind == "game_skipped":
            self._say(f"[paper] game {ev['game_id']} skipped: {ev['reason']}")
        elif kind == "order":
            late = ("" if ev["seen_tick"] is None or ev["seen_tick"] <= ev["tick"]
                    else f" (late: seen at tick {ev['seen_tick']})")
            stake = "" if ev["stake_sol"] is None else f" {ev['stake_sol']:g} SOL"
            self._say(f"[paper] {ev['kind']}{stake} at tick {ev['tick']}{late}")
        if self.user_sink is not None:
            self.user_sink(ev)

    def _on_connection(self, ev: ConnectionEvent) -> None:
        self._say(f"[paper] {ev.kind}: {ev.reason or ev.transport or ''}".rstrip(": "))

    def _say(self, text: str) -> None:
        if self.out is not None:
            print(text, file=self.out, flush=True)

    # -- lake -----------------------------------------------------------------------------
    async def flush(self) -> bool:
        """Write the rows of the games ended so far; False (rows kept) when the write fails."""
        async with self.write_lock:
            self.flush_due = False
            self.pending.merge(self.trader.take_rows())
            if not len(self.pending):
                return True
            batch, self.pending = self.pending, RowBatch()
            try:
                report = await asyncio.to_thread(write_batch, self.opts.lake, batch)
            except Exception as e:  # any failure of the write: keep the rows, try again later
                self.pending.merge(batch)
                self.failed_in_row += 1
                self.summary.write_failures += 1
                self.summary.write_error = f"{type(e).__name__}: {e}"
                if self.failed_in_row == 1:
                    self._say(f"[paper] LAKE WRITE FAILED ({self.summary.write_error}); the "
                              "rows are held and written with the next game")
                return False
            self.failed_in_row = 0
            self.summary.write_error = None
            self.summary.decisions_written += report.new("paper_decisions")
            self.summary.results_written += report.new("paper_results")
            self.summary.rows_rejected += sum(t.rejected for t in report.tables.values())
            return True

    async def timers(self) -> None:
        while not self.stop.is_set():
            await asyncio.sleep(0.25)
            if self.flush_due:
                await self.flush()

    # -- sources --------------------------------------------------------------------------
    def on_frame(self, frame: Frame) -> None:
        self.summary.frames += 1
        if not self.stop.is_set():
            self.trader.feed(frame)

    async def listen(self, url: str) -> None:
        await listen(url, self.on_frame, self._on_connection, self.stop,
                     backoff=Backoff(self.opts.backoff_base_s, self.opts.backoff_cap_s))

    async def replay(self, frames: Iterator[Frame | BadRecord]) -> None:
        while not self.stop.is_set():
            n = 0
            for _, fr in zip(range(_REPLAY_SLICE), frames, strict=False):
                n += 1
                if isinstance(fr, Frame):
                    self.on_frame(fr)
                else:
                    self.summary.bad_records += 1
            if n < _REPLAY_SLICE:
                self.summary.stop_reason = self.summary.stop_reason or "end of the file"
                self.stop.set()
            await asyncio.sleep(0)

    async def finish(self, seconds: float) -> None:
        self.trader.stop()
        if not await self.flush():
            self._say(f"[paper] the last rows could not be written: {self.summary.write_error}")
        self.summary.fill(self.trader, seconds)


async def paper_async(opts: PaperOptions, stop: asyncio.Event | None = None, *,
                      on_event: EventSink | None = None, out: Out = STDERR) -> PaperSummary:
    """Paper-trade `opts.strategy` on `opts.url` or `opts.replay` until a stop (module doc).

    Args:
        stop: set it to end the run (SIGINT/SIGTERM do through `run_paper`).
        on_event: called with every event dict (orders, fills, lapses, settlements, game
            starts and ends, void games) as it happens: the `paper` channel's messages.
        out: where status lines go (None: silent).

    Returns:
        The run's `PaperSummary` (its `str` is what `rugslab paper` prints).

    Raises:
        ConfigError: an unknown strategy or a bad parameter (before anything is read).
        InputFormatError: the replayed file is missing or in no readable format.
    """
    stop = stop or asyncio.Event()
    run = _Run(opts, stop, on_event, status_stream(out))
    # a missing or unreadable file raises here, before the run starts
    frames = None if opts.replay is None else iter(read_frames(opts.replay))
    r = opts.rules
    run._say(f"[paper] run {run.trader.run_id}: {opts.strategy} {run.summary.params_json} on "
             f"{run.summary.source}; bankroll {r.bankroll_sol:g} SOL, latency "
             f"{r.latency_ticks} tick(s); nothing is sent to rugs.fun")
    t0 = time.monotonic()
    timers = asyncio.ensure_future(run.timers())
    deadline = None
    if opts.duration_s is not None:
        deadline = asyncio.get_running_loop().call_later(opts.duration_s, _expire, run)
    try:
        if frames is not None:
            await run.replay(frames)
        else:
            await run.listen(opts.url or "")
    finally:
        stop.set()
        if deadline is not None:
            deadline.cancel()
        with contextlib.suppress(Exception):
            await timers
        await run.finish(time.monotonic() - t0)
    if on_event is not None:
        with contextlib.suppress(Exception):  # the run is over: a listener cannot stop it
            on_event({"type": "run_end", "run_id": run.trader.run_id, **run.summary.to_dict()})
    return run.summary


def _expire(run: _Run) -> None:
    run.summary.stop_reason = run.summary.stop_reason or "duration reached"
    run.stop.set()


def run_paper(opts: PaperOptions, *, on_event: EventSink | None = None,
              out: Out = STDERR) -> PaperSummary:
    """Blocking `paper_async` that stops cleanly on SIGINT and SIGTERM: the game in play is
    void, the rows held are written, and the summary is returned."""
    stream = status_stream(out)

    async def main() -> PaperSummary:
        stop = asyncio.Event()
        got: dict[str, str] = {}
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> None:
            got.setdefault("signal", sig.name)
            if stream is not None:
                print(f"[paper] {sig.name} received: stopping, writing what is held",
                      file=stream, flush=True)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, on_signal, sig)
        summary = await paper_async(opts, stop, on_event=on_event, out=stream)
        if "signal" in got and summary.stop_reason in ("stopped", "end of the file"):
            summary.stop_reason = f"{got['signal']} received"
        return summary

    return asyncio.run(main())
