"""`rugslab paper`: a paper session on the live feed (or a recorded file), rows to the lake.

Frames come from the listen-only client (`rugslab.collector.client.listen`: it never emits,
so nothing reaches rugs.fun) or from a file any reader reads (`--replay`, as fast as it
reads), and go to one `PaperSession` (`rugslab.paper.session`: the trader, each game's rows
written at its end, the summary). The run ends at `duration_s`, after `max_games` games
played, when the bankroll stops (ruin with `stop_at_ruin`), at the end of a replayed file, or
on SIGINT/SIGTERM; it then censors a game left in play (`PaperTrader.stop`), writes what it
holds and returns its summary.

`paper_specs` reads the strategies and parameters of `rugslab serve live --paper` (several
strategies side by side on the same ticks: `rugslab.live.run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rugslab.backoff import RECONNECT_BASE_S, RECONNECT_CAP_S, Backoff
from rugslab.collector.client import ConnectionEvent, listen
from rugslab.config import STDERR, Out, status_stream
from rugslab.errors import ConfigError
from rugslab.feed.frames import BadRecord, Frame
from rugslab.paper.session import PaperSession
from rugslab.paper.summary import PaperSummary
from rugslab.paper.trader import EventSink
from rugslab.readers import read_frames
from rugslab.strategy.builtins import make_strategy, parse_params
from rugslab.strategy.engine import ExecutionRules

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


def paper_specs(strategies: Sequence[str], pairs: Sequence[str]
                ) -> tuple[tuple[str, dict[str, str]], ...]:
    """The strategies of `--paper` with their parameters from `--paper-param`.

    A pair `k=v` goes to every strategy; `NAME:k=v` only to strategy NAME (for several
    strategies with parameters of the same name).

    Returns:
        (strategy, params) per strategy, in the order given; each checked (`make_strategy`).

    Raises:
        ConfigError: a strategy given twice, parameters without a strategy, a NAME: that is
            not among the strategies, a pair without `=`, an unknown strategy or parameter.
    """
    if pairs and not strategies:
        raise ConfigError(f"Invalid --paper-param {pairs[0]!r} without --paper: name the "
                          "strategy to paper-trade, e.g. --paper sidebet-fixed.")
    twice = sorted({s for s in strategies if list(strategies).count(s) > 1})
    if twice:
        raise ConfigError(f"Invalid --paper {twice[0]!r} given twice: each strategy runs once "
                          "(its events are told apart by the strategy's name).")
    params: dict[str, dict[str, str]] = {s: {} for s in strategies}
    for pair in pairs:
        name, colon, rest = pair.partition(":")
        if colon and "=" not in name:
            if name not in params:
                raise ConfigError(f"Invalid --paper-param {pair!r}: {name!r} is not a --paper "
                                  f"strategy; expected one of {', '.join(params)}.")
            params[name] |= parse_params([rest])
        else:
            for p in params.values():
                p |= parse_params([pair])
    for name, p in params.items():
        try:
            make_strategy(name, p)
        except ConfigError as e:  # name the flag of this command, and the way to aim a pair
            hint = (f" ({name}:KEY=VALUE gives a parameter to {name} only.)"
                    if len(params) > 1 else "")
            raise ConfigError(str(e).replace("--param", "--paper-param", 1) + hint) from e
    return tuple(params.items())


async def _listen(session: PaperSession, opts: PaperOptions, stop: asyncio.Event) -> None:
    def on_connection(ev: ConnectionEvent) -> None:
        session.say(f"{ev.kind}: {ev.reason or ev.transport or ''}".rstrip(": "))

    def on_frame(frame: Frame) -> None:
        if not stop.is_set():
            session.on_frame(frame)

    await listen(opts.url or "", on_frame, on_connection, stop,
                 backoff=Backoff(opts.backoff_base_s, opts.backoff_cap_s))


async def _replay(session: PaperSession, frames: Iterator[Frame | BadRecord],
                  stop: asyncio.Event) -> None:
    while not stop.is_set():
        n = 0
        for _, fr in zip(range(_REPLAY_SLICE), frames, strict=False):
            n += 1
            if isinstance(fr, Frame):
                session.on_frame(fr)
            else:
                session.summary.bad_records += 1
        if n < _REPLAY_SLICE:
            session.summary.stop_reason = session.summary.stop_reason or "end of the file"
            stop.set()
        await asyncio.sleep(0)


async def paper_async(opts: PaperOptions, stop: asyncio.Event | None = None, *,
                      on_event: EventSink | None = None, out: Out = STDERR) -> PaperSummary:
    """Paper-trade `opts.strategy` on `opts.url` or `opts.replay` until a stop (module doc).

    Args:
        stop: set it to end the run (SIGINT/SIGTERM do through `run_paper`).
        on_event: called with every event dict (orders, fills, lapses, settlements, game
            starts, ends and skips, then `run_end`) as it happens: the `paper` channel's
            messages.
        out: where status lines go (None: silent).

    Returns:
        The run's `PaperSummary` (its `str` is what `rugslab paper` prints).

    Raises:
        ConfigError: an unknown strategy or a bad parameter (before anything is read).
        InputFormatError: the replayed file is missing or in no readable format.
    """
    stop = stop or asyncio.Event()
    source = opts.url if opts.url is not None else str(opts.replay)
    session = PaperSession(opts.strategy, opts.params, opts.rules, source=source,
                           lake=opts.lake, on_event=on_event, out=status_stream(out),
                           max_games=opts.max_games)
    # a missing or unreadable file raises here, before the run starts
    frames = None if opts.replay is None else iter(read_frames(opts.replay))
    session.announce()
    t0 = time.monotonic()
    loop = asyncio.get_running_loop()
    timers = asyncio.ensure_future(session.run_timers(stop))
    done = asyncio.ensure_future(session.done.wait())
    done.add_done_callback(lambda _: stop.set())
    deadline = None
    if opts.duration_s is not None:
        deadline = loop.call_later(opts.duration_s, _expire, session.summary, stop)
    try:
        if frames is not None:
            await _replay(session, frames, stop)
        else:
            await _listen(session, opts, stop)
    finally:
        stop.set()
        done.cancel()
        if deadline is not None:
            deadline.cancel()
        with contextlib.suppress(Exception):
            await timers
        await session.finish(time.monotonic() - t0)
    if on_event is not None:
        with contextlib.suppress(Exception):  # the run is over: a listener cannot stop it
            on_event(session.end_event())
    return session.summary


def _expire(summary: PaperSummary, stop: asyncio.Event) -> None:
    summary.stop_reason = summary.stop_reason or "duration reached"
    stop.set()


def run_paper(opts: PaperOptions, *, on_event: EventSink | None = None,
              out: Out = STDERR) -> PaperSummary:
    """Blocking `paper_async` that stops cleanly on SIGINT and SIGTERM: the game in play is
    censored, the rows held are written, and the summary is returned."""
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
