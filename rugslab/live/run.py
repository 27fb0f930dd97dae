"""`rugslab serve live`: the feed (live, or a replay) into the live server, and the lake.

One process, one event loop:

    feed ──listen-only client──▶ [collector: journal, assembler, lake]* ──▶ LiveServer ──▶ clients
    (backend.rugs.fun, or a replay served on 127.0.0.1 by `sim.server.FeedServer`)
                                  * with --lake: `collector.run.collect_async`, exactly as
                                    `rugslab collect` does; without: `collector.client.listen`

A replay goes through the same listen-only client as the live feed (the replay server plays
the captures on a free loopback port), so both paths take the same frames the same way; the
signals' tick schedule is then 250 ms / speed. When
a one-pass replay has been sent, the source stops (the collector writes what it holds) and the
server goes on serving what it holds until stopped. With a lake, the lake's constant hazard
is fitted at start and every `refit_every_s` (`signals.fit_lake_hazard`, in a worker thread).

Paper trading (`paper`: strategies from `rugslab.paper.run.paper_specs`): each strategy is a
`rugslab.paper.session.PaperSession` fed every frame right after the server takes it, so it
trades on the same observed ticks the channels carry; its events go out on the `paper`
channel as they happen and, with a lake, its rows to `paper_decisions`, `paper_results` and
`paper_games` at the end of each game, exactly as `rugslab paper` writes them. When the source
stops (a replay's end, or the server's stop) each run censors its game in play, writes what it
holds and publishes its `run_end`, before the server closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rugslab.collector.client import listen
from rugslab.collector.run import CollectOptions, collect_async
from rugslab.collector.summary import CollectSummary
from rugslab.config import DEFAULT_URL, STDERR, Out, status_stream
from rugslab.errors import ConfigError, RugslabError
from rugslab.feed.frames import Frame
from rugslab.feed.rules import NOMINAL_TICK_MS
from rugslab.lake.catalog import read_table
from rugslab.live.limits import Limits
from rugslab.live.server import LiveServer
from rugslab.live.signals import HazardFit, fit_lake_hazard
from rugslab.paper.session import PaperSession
from rugslab.paper.summary import PaperSummary
from rugslab.readers import detect_format
from rugslab.sim.feed import ScheduledFrame
from rugslab.sim.replay import read_files, replay_schedule
from rugslab.sim.server import DEFAULT_PORT, FeedServer
from rugslab.strategy.builtins import make_strategy
from rugslab.strategy.engine import ExecutionRules


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """What `serve live` does; see `rugslab serve live --help` for the flags.

    `feed_url` and `replay` exclude each other; with neither, the live feed is used.
    `paper`: (strategy, parameters) to paper-trade on the same frames
    (`rugslab.paper.run.paper_specs`), each with `paper_rules`.
    """

    feed_url: str | None = None
    replay: tuple[Path, ...] = ()
    speed: float = 1.0
    loop: bool = False
    lake: Path | None = None
    fit_lake: Path | None = None  # default: `lake`
    refit_every_s: float = 600.0
    fit_resamples: int = 1000
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None
    heartbeat_s: float = 5.0
    limits: Limits = field(default_factory=Limits)
    cors_origins: tuple[str, ...] = ()
    duration_s: float | None = None
    wait_for_clients: int = 0
    paper: tuple[tuple[str, Mapping[str, object]], ...] = ()
    paper_rules: ExecutionRules = field(default_factory=ExecutionRules)

    def check(self) -> None:
        """Raises ConfigError for options that cannot run (named with the fix)."""
        if self.feed_url and self.replay:
            raise ConfigError("Invalid --feed with --replay: give one source, the live feed "
                              "(--feed URL) or capture files (--replay FILE...).")
        if not self.speed > 0:
            raise ConfigError(f"Invalid --speed {self.speed!r}: expected a number > 0.")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ConfigError(f"Invalid --duration {self.duration_s!r}: expected seconds > 0.")
        if not self.refit_every_s > 0:
            raise ConfigError(f"Invalid --refit-every {self.refit_every_s!r}: expected "
                              "seconds > 0.")
        for p in self.replay:  # fail before listening, not in the middle of the feed
            detect_format(p)
        for name, params in self.paper:
            make_strategy(name, params)


@dataclass(slots=True)
class LiveSummary:
    """What a `serve live` run did."""

    url: str = ""
    frames: int = 0
    connects: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    collect: CollectSummary | None = None
    paper: list[PaperSummary] = field(default_factory=list)

    def __str__(self) -> str:
        drops = ", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items())) or "none"
        refused = ", ".join(f"{k} {v}" for k, v in sorted(self.refused.items())) or "none"
        text = (f"served {self.frames} frames to {self.connects} connections; dropped: {drops}; "
                f"refused: {refused}; errors: {self.errors}")
        parts = [text, *([] if self.collect is None else [str(self.collect)]),
                 *(str(p) for p in self.paper)]
        return "\n".join(parts)


def fit_from_lake(lake: Path, *, n_resamples: int = 1000) -> HazardFit | None:
    """`fit_lake_hazard` of the lake's `games`; None when there is no lake or nothing to fit."""
    try:
        games = read_table("games", lake)
    except RugslabError:
        return None
    return fit_lake_hazard(games, lake=str(lake), n_resamples=n_resamples)


def replay_frames(files: Sequence[Path], speed: float, loop: bool) -> Iterator[ScheduledFrame]:
    """The captures as a send schedule at `speed`, once or (`loop`) over and over."""
    offset = 0.0
    while True:
        last = 0.0
        for f in replay_schedule(read_files(files), speed):
            last = f.at_s
            yield ScheduledFrame(f.at_s + offset, f.event, f.args, f.raw)
        if not loop:
            return
        offset += last + 1.0 / speed


async def serve_live(opts: LiveOptions, *, stop: asyncio.Event | None = None,
                     frames: Iterable[ScheduledFrame] | None = None,
                     announce: Callable[[str], None] | None = None,
                     on_start: Callable[[LiveServer], None] | None = None,
                     out: Out = STDERR) -> LiveSummary:
    """Run the live server on the feed, a replay or `frames` until `stop` (or the duration).

    Args:
        opts: source, lake, server and limits (`LiveOptions`).
        stop: set it to end the run (SIGINT/SIGTERM do through the CLI).
        frames: a schedule to play instead of `opts.replay` (tests: `testing.sim_frames`).
        announce: called with the URL once listening.
        on_start: called with the `LiveServer` once listening (e.g. to `publish` on `paper`
            or `observe` its messages).
        out: where the collector's and paper runs' status lines go (None: silent).

    Returns:
        The run's `LiveSummary` (with each paper run's `PaperSummary`).

    Raises:
        ConfigError: options that cannot run; LakeError: another collector holds the lake.
    """
    opts.check()
    stop = stop or asyncio.Event()
    server = LiveServer(host=opts.host, port=opts.port, token=opts.token, limits=opts.limits,
                        heartbeat_s=opts.heartbeat_s, cors_origins=opts.cors_origins or None)
    summary = LiveSummary(url=await server.start())
    if on_start is not None:
        on_start(server)
    if announce is not None:
        announce(server.url)
    tasks: list[asyncio.Task[Any]] = []
    source_stop, paper_done = asyncio.Event(), asyncio.Event()
    try:
        if opts.duration_s is not None:
            asyncio.get_running_loop().call_later(opts.duration_s, stop.set)
        fit_lake = opts.fit_lake or opts.lake
        if fit_lake is not None:
            tasks.append(asyncio.create_task(_refit(server, fit_lake, opts)))
        papers = _paper_sessions(server, opts, frames is not None, out)
        tasks += [asyncio.create_task(p.run_timers(paper_done)) for p in papers]
        source = asyncio.create_task(_feed(server, opts, frames, source_stop, summary, out,
                                           papers))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({source, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if source.done() and source.exception() is not None:
            stopper.cancel()
            raise source.exception()  # type: ignore[misc]
        await stop.wait()  # a replay that ended: serve what is held until stopped
        source_stop.set()
        await source
    finally:
        source_stop.set()
        paper_done.set()
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await server.stop()
    st = server.status()
    summary.frames, summary.connects = server.frames, server.connects
    summary.dropped, summary.refused, summary.errors = st["dropped"], st["refused"], st["errors"]
    return summary


def _paper_sessions(server: LiveServer, opts: LiveOptions, frames_given: bool,
                    out: Out) -> list[PaperSession]:
    """A paper session per strategy of `opts.paper`, publishing on the server's `paper`
    channel; each announced, and listed in the server's status."""
    source = (", ".join(str(p) for p in opts.replay) if opts.replay else
              "frames given to serve_live" if frames_given else opts.feed_url or DEFAULT_URL)
    def publish(ev: dict[str, Any]) -> None:
        server.publish("paper", ev)

    sessions = []
    for name, params in opts.paper:
        s = PaperSession(name, params, opts.paper_rules, source=source, lake=opts.lake,
                         on_event=publish,
                         out=status_stream(out), tag=f"[paper {name}]")
        s.announce()
        server.paper_runs.append({"run_id": s.run_id, "strategy": name,
                                  "params_json": s.summary.params_json,
                                  "bankroll_start_sol": opts.paper_rules.bankroll_sol,
                                  "lake": s.summary.lake})
        sessions.append(s)
    return sessions


async def _feed(server: LiveServer, opts: LiveOptions, frames: Iterable[ScheduledFrame] | None,
                stop: asyncio.Event, summary: LiveSummary, out: Out,
                papers: list[PaperSession]) -> None:
    """`_run_source` with every frame to the server, then to each paper session; when the
    source has stopped, end the paper runs (their summaries to `summary.paper`, their
    `run_end` on the `paper` channel)."""
    t0 = time.monotonic()

    def on_frame(frame: Frame) -> None:
        server.on_frame(frame)
        for p in papers:
            try:
                p.on_frame(frame)
            except Exception as e:  # a bug in one run must not stop the collector or the lake
                server.errors += 1
                server.last_error = f"paper {p.summary.strategy}: {type(e).__name__}: {e}"

    try:
        await _run_source(server, opts, frames, stop, summary, out, on_frame)
    finally:
        why = "end of the replay" if server.source.get("done") else "the server stopped"
        for p in papers:
            p.summary.stop_reason = p.summary.stop_reason or why
            summary.paper.append(await p.finish(time.monotonic() - t0))
            server.publish("paper", p.end_event())


async def _run_source(server: LiveServer, opts: LiveOptions,
                      frames: Iterable[ScheduledFrame] | None, stop: asyncio.Event,
                      summary: LiveSummary, out: Out,
                      on_frame: Callable[[Frame], None]) -> None:
    """Feed `on_frame` (the server, then paper trading) from the live feed or a replay until
    `stop` (or a one-pass replay's end); with a lake, through the collector."""
    replay: FeedServer | None = None
    if frames is None and opts.replay:
        frames = replay_frames(opts.replay, opts.speed, opts.loop)
    while opts.wait_for_clients and len(server.clients) < opts.wait_for_clients:
        if stop.is_set():
            return
        await asyncio.sleep(0.02)
    if frames is not None:
        replay = FeedServer(frames, host="127.0.0.1", port=0, wait_for_clients=1)
        url = await replay.start()
        server.source |= {"kind": "replay", "files": [p.name for p in opts.replay],
                          "speed": opts.speed, "loop": opts.loop, "done": False}
        # the schedule of a replay at speed X is 250 ms / X a tick
        server.signals.clock.nominal_ms = NOMINAL_TICK_MS / opts.speed
        watcher = asyncio.create_task(_end_with(replay, stop, server))
    else:
        url = opts.feed_url or DEFAULT_URL
        server.source |= {"kind": "feed", "url": url}
    server.source["lake"] = str(opts.lake) if opts.lake is not None else None
    try:
        if opts.lake is not None:
            summary.collect = await collect_async(
                CollectOptions(url=url, lake=opts.lake), stop, out=status_stream(out),
                observe_frame=on_frame, observe_connection=server.on_connection)
        else:
            await listen(url, on_frame, server.on_connection, stop)
    finally:
        if replay is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await replay.stop()


async def _end_with(replay: FeedServer, stop: asyncio.Event, server: LiveServer) -> None:
    await replay.wait_done(linger_s=1.0)
    server.source["done"] = True
    stop.set()


async def _refit(server: LiveServer, lake: Path, opts: LiveOptions) -> None:
    while True:
        fit = await asyncio.to_thread(fit_from_lake, lake, n_resamples=opts.fit_resamples)
        if fit is not None or server.signals.fit is None:
            server.set_fit(fit)
        await asyncio.sleep(opts.refit_every_s)
