"""`rugslab collect`: the listen-only client, the journal and the lake, wired together.

For every frame, in this order: append to the journal (durable within half a second), feed the
game assembler, update the status. The assembler is drained into the lake (`write_batch`, in a
worker thread so the socket keeps being read) when a game rugs, when a seed is revealed, and on
a timer. Connects and disconnects go to the `connections` table. The run ends at `duration_s`,
after `max_games` complete games, or on SIGINT/SIGTERM (connected, connecting or waiting to
reconnect alike); it then writes what is left, closes the journal and marks it ingested.

A disk that refuses writes (full, read-only) never ends the run: lake writes and journal
writes are retried with backoff (`rugslab.backoff`), each failure streak is said once
on the status output and its end once more, and on stop the journal is kept for the next start
whenever the lake did not take everything.

A game counts as complete when this session saw it live and has seen its server seed revealed
(in a later `gameHistory`), so every counted game can be verified.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from rugslab.assembly.assembler import GameAssembler
from rugslab.backoff import (
    LAKE_RETRY_BASE_S,
    LAKE_RETRY_CAP_S,
    RECONNECT_BASE_S,
    RECONNECT_CAP_S,
    Backoff,
)
from rugslab.collector.client import ConnectionEvent, ConnectionSink, FrameSink, listen
from rugslab.collector.journal import Journal, collector_lock, mark_ingested, pending_journals
from rugslab.collector.status import FeedStatus
from rugslab.collector.summary import CollectSummary
from rugslab.config import STDERR, Out, status_stream
from rugslab.errors import LakeError
from rugslab.feed.frames import Frame
from rugslab.ingest import ingest
from rugslab.ingest_summary import IngestSummary
from rugslab.lake.writer import write_batch
from rugslab.tables.batch import RowBatch
from rugslab.tables.columns import ColumnRows

#: Rows held for a retry after failed lake writes before they are let go from memory (their
#: frames stay in the journal, which is then recovered at the next start).
MAX_PENDING_ROWS = 2_000_000
#: ... or bytes of frame arguments held in them (`raw_events.args_json`): 256 MiB is ~2 hours
#: of the live feed (~5 frames/s of 7.3 KB, the mean of bench/ingest.py's archive).
MAX_PENDING_RAW_BYTES = 256 * 2**20


def _raw_bytes(batch: RowBatch) -> int:
    """Bytes of frame arguments (`raw_events.args_json`) held in `batch`."""
    raw = batch.rows.get("raw_events")
    if isinstance(raw, ColumnRows):
        return raw.text_bytes
    return sum(len(r.get("args_json") or "") for r in raw or ())


@dataclass(frozen=True, slots=True)
class CollectOptions:
    """What `collect` does; see `rugslab collect --help` for the flags."""

    url: str
    lake: Path
    duration_s: float | None = None
    max_games: int | None = None
    #: lake writes at each rug / seed reveal and at least this often: one Delta commit per
    #: table each, so about one a game (the journal bounds loss to `fsync_every_s` meanwhile)
    flush_every_s: float = 60.0
    fsync_every_s: float = 0.5
    status_every_s: float = 5.0
    backoff_base_s: float = RECONNECT_BASE_S
    backoff_cap_s: float = RECONNECT_CAP_S
    #: bytes of frame arguments held in memory, by the rows of failed lake writes and by the
    #: journal while its disk refuses writes, before they are let go (no flag: a memory bound)
    max_pending_raw_bytes: int = MAX_PENDING_RAW_BYTES


def recover_journals(lake: Path) -> IngestSummary | None:
    """Ingest journal files an earlier run left unfinished (a crash); mark them ingested.

    Returns:
        The ingest summary, or None when there was nothing to recover.
    """
    pending = pending_journals(lake)
    if not pending:
        return None
    summary = ingest(pending, lake=lake, progress=False)
    mark_ingested(lake, pending)
    return summary


class _Collector:
    def __init__(self, opts: CollectOptions, stop: asyncio.Event, out: TextIO | None,
                 observe_frame: FrameSink | None = None,
                 observe_connection: ConnectionSink | None = None) -> None:
        self.opts = opts
        self.observe_frame = observe_frame
        self.observe_connection = observe_connection
        self.stop = stop
        self.out = out
        self.session_id = uuid.uuid4().hex
        self.summary = CollectSummary(self.session_id, opts.url)
        self.journal = Journal(opts.lake, self.session_id, fsync_every_s=opts.fsync_every_s,
                               max_held_bytes=opts.max_pending_raw_bytes)
        self.assembler = GameAssembler()
        self.status = FeedStatus()
        self.pending = RowBatch()
        self.flush_due = False
        self.write_lock = asyncio.Lock()
        self.last_write_mono: float | None = None
        self.write_backoff = Backoff(LAKE_RETRY_BASE_S, LAKE_RETRY_CAP_S)
        self.retry_after_mono = 0.0
        self.failed_in_row = 0
        self.journal_needs_recovery = False
        self.journal_failing = False
        self.lake_through_seq = 0  # every frame up to this seq is in the lake

    def on_frame(self, frame: Frame) -> None:
        self.journal.append(frame)  # never raises: a refusing disk makes it hold the frame
        self.assembler.feed(frame)  # an undecodable packet's frame: a raw row and a reject
        self.summary.frames += 1
        if self.status.observe(frame):
            self.flush_due = True  # a rug or a revealed seed: write the lake soon
        if self.opts.max_games and self.status.games_complete >= self.opts.max_games:
            self.summary.stop_reason = f"{self.opts.max_games} games complete"
            self.stop.set()
        if self.observe_frame is not None:  # after the journal: an observer never costs a frame
            self.observe_frame(frame)

    def on_connection(self, ev: ConnectionEvent) -> None:
        if ev.kind == "connected":
            self.summary.connects += 1
        elif ev.kind == "connect_failed":
            self.summary.failed_connects += 1
        else:
            self.summary.disconnects += 1
        self.status.on_connection(ev)
        if self.observe_connection is not None:
            self.observe_connection(ev)
        self.pending.add(
            "connections",
            {
                "session_id": ev.session_id,
                "connection_no": ev.connection_no,
                "kind": ev.kind,
                "recv_ts": ev.ts_us,
                "url": self.opts.url,
                "transport": ev.transport,
                "reason": ev.reason,
                "duration_s": ev.duration_s,
                "backoff_s": ev.backoff_s,
            },
        )
        self._say(f"[collect] {ev.kind}: {ev.reason or ev.transport or ''}".rstrip(": "))

    async def flush(self) -> bool:
        """Drain the assembler and write the lake in a worker thread (one write at a time).

        A failed write (disk full, permissions, ...) never ends the run: the rows are kept for
        the next attempt, retried with backoff (`LAKE_RETRY_*`), and the first failure of a
        streak and its end are announced on the status output. Past `MAX_PENDING_ROWS` rows or
        `max_pending_raw_bytes` of frame text they are let go from memory; the journal still
        holds their frames (on disk, or in memory while the disk refuses it too) and is then
        left for recovery at the next start. Returns True on success.
        """
        async with self.write_lock:
            batch = self.pending
            through_seq = self.summary.frames  # a frame's seq is its number in the session
            batch.merge(self.assembler.drain())
            self.pending = RowBatch()
            self.flush_due = False
            if not len(batch):
                return True
            try:
                report = await asyncio.to_thread(write_batch, self.opts.lake, batch)
            except Exception as e:  # any failure of the write; the journal keeps the frames
                self.summary.write_failures += 1
                self.failed_in_row += 1
                self.retry_after_mono = time.monotonic() + self.write_backoff.next_delay()
                if (len(batch) > MAX_PENDING_ROWS
                        or _raw_bytes(batch) > self.opts.max_pending_raw_bytes):
                    self.journal_needs_recovery = True
                    # the journal holds frames, not connection events: their rows stay
                    self.pending = RowBatch()
                    self.pending.extend("connections", batch.rows.get("connections", []))
                    self._say("[collect] rows of frames let go from memory after "
                              f"{self.failed_in_row} failed lake writes; the journal keeps the "
                              "frames for the next start")
                else:
                    self.pending = batch
                if self.failed_in_row == 1:
                    self._say(f"[collect] LAKE WRITE FAILED ({type(e).__name__}: {e}); rows are "
                              f"held and the write is retried (at least every "
                              f"{LAKE_RETRY_CAP_S:.0f} s); the journal keeps the frames")
                return False
            if self.failed_in_row:
                self._say(f"[collect] lake writes work again (after {self.failed_in_row} "
                          "failed tries)")
            self.failed_in_row = 0
            self.write_backoff.reset()
            self.retry_after_mono = 0.0
            self.summary.add(report, batch)
            if report.maintenance_errors:  # written; compaction is tried again later
                self._say(f"[collect] lake maintenance failed (the rows are written): "
                          f"{report.maintenance_errors[0]}")
            if not self.journal_needs_recovery:  # no rows were let go before this write
                self.lake_through_seq = through_seq
            self.last_write_mono = time.monotonic()
            return True

    def check_journal(self) -> None:
        """Retry held journal frames when due; say when a failure streak starts and ends."""
        j = self.journal
        if j.error is not None:
            j.retry()
        if j.error is not None and not self.journal_failing:
            self.journal_failing = True
            self._say(f"[collect] JOURNAL WRITE FAILED ({j.error}); frames are held in memory "
                      f"({j.held:,} now) and written as soon as the disk takes them (retried at "
                      f"least every {j.backoff.cap_s:.0f} s)")
        elif j.error is None and self.journal_failing:
            self.journal_failing = False
            self._say("[collect] journal writes work again: the held frames are on disk")

    async def timers(self) -> None:
        last_flush = last_status = time.monotonic()
        while not self.stop.is_set():
            await asyncio.sleep(0.25)
            self.journal.sync_if_due()
            self.check_journal()
            now = time.monotonic()
            due = self.flush_due or now - last_flush >= self.opts.flush_every_s
            if due and now >= self.retry_after_mono:
                last_flush = now
                await self.flush()
            if self.opts.status_every_s and now - last_status >= self.opts.status_every_s:
                last_status = now
                since = None if self.last_write_mono is None else now - self.last_write_mono
                self._say(self.status.line(self.journal.seconds_since_durable(), since))

    async def finish(self) -> None:
        """The final write, journal close and INGESTED mark; fills the summary's journal part."""
        written = await self.flush()
        journal_ok = self.journal.close()
        j, s = self.journal, self.summary
        s.journal_failures, s.journal_error = j.failures, j.last_error
        s.frames_not_journaled = j.held + j.frames_let_go
        s.journal_kept = not written or self.journal_needs_recovery
        if s.journal_kept:
            # in neither the journal nor the lake (let-go frames: counted whatever their seq)
            s.frames_lost = j.held_after(self.lake_through_seq) + j.frames_let_go
        if not journal_ok:
            self._say(f"[collect] the journal could not be written at the end ({j.error}): "
                      f"{j.held:,} frames held in memory are not in it")
        if not s.journal_kept:
            try:
                mark_ingested(self.opts.lake, j.paths)
            except LakeError as e:  # the next start re-reads the journal: no duplicate rows
                self._say(f"[collect] {e}; the next start recovers the journal again "
                          "(no duplicate rows)")

    def _say(self, text: str) -> None:
        if self.out is not None:
            print(text, file=self.out, flush=True)


async def collect_async(
    opts: CollectOptions, stop: asyncio.Event | None = None, *, out: Out = STDERR,
    observe_frame: FrameSink | None = None, observe_connection: ConnectionSink | None = None,
) -> CollectSummary:
    """Collect the feed at `opts.url` into `opts.lake` until a stop condition (module doc).

    Args:
        opts: URL, lake, stop conditions, timers.
        stop: set it to end the run (SIGINT/SIGTERM do when run through `collect`).
        out: where status lines go (None = silent).
        observe_frame: called with every frame after the collector has taken it (journal,
            assembler, status), e.g. the live server (`rugslab serve live --lake`); it must
            not raise.
        observe_connection: called with every connection event after the collector's own.

    Returns:
        A `CollectSummary` (its `str` is the summary the CLI prints).

    Raises:
        LakeError: another collector holds this lake, or its journal folder cannot be made.
    """
    stop = stop or asyncio.Event()
    opts.lake.mkdir(parents=True, exist_ok=True)
    with collector_lock(opts.lake):
        c = _Collector(opts, stop, status_stream(out), observe_frame, observe_connection)
        try:
            c.summary.recovered = recover_journals(opts.lake)
        except LakeError as e:  # e.g. a full disk: collect anyway, recover at the next start
            c.summary.recovery_error = str(e)
            c._say(f"[collect] could not recover earlier journals ({e}); they stay for the "
                   "next start")
        t0 = time.monotonic()
        timers = asyncio.ensure_future(c.timers())
        # the timers drive journal syncs and lake writes: without them, stop collecting
        def _timers_ended(t: asyncio.Future[None]) -> None:
            if not t.cancelled() and t.exception() is not None:
                stop.set()

        timers.add_done_callback(_timers_ended)
        deadline = None
        if opts.duration_s is not None:
            deadline = asyncio.get_running_loop().call_later(opts.duration_s, _expire, c)
        try:
            await listen(
                opts.url,
                c.on_frame,
                c.on_connection,
                stop,
                session_id=c.session_id,
                backoff=Backoff(base_s=opts.backoff_base_s, cap_s=opts.backoff_cap_s),
            )
        finally:
            stop.set()
            if deadline is not None:
                deadline.cancel()
            try:
                await timers  # ends within 0.25 s of `stop`; never cancelled mid-write
            except Exception as e:  # reported, then the final write below still runs
                c._say(f"[collect] timer task failed: {type(e).__name__}: {e}")
            await c.finish()
        c.summary.seconds = time.monotonic() - t0
        c.summary.games_complete = c.status.games_complete
        c.summary.missed_ticks = c.status.missed_ticks
        c.summary.journal_files = c.journal.paths
        c.summary.stop_reason = c.summary.stop_reason or "stopped"
        return c.summary


def _expire(c: _Collector) -> None:
    c.summary.stop_reason = c.summary.stop_reason or "duration reached"
    c.stop.set()


def collect(opts: CollectOptions, *, out: Out = STDERR) -> CollectSummary:
    """Blocking `collect_async` that stops cleanly on SIGINT and SIGTERM.

    Either signal, whenever it comes (connected, connecting, waiting to reconnect), sets the
    stop: the run writes what it holds (lake rows, `connections` rows), closes the journal and
    returns its summary, so `rugslab collect` exits 0. A second signal while stopping is only
    acknowledged: what is held is still written. (python-socketio's own SIGINT handler, which
    would cancel every task instead, is never installed: `ListenOnlyClient`.)
    """

    stream = status_stream(out)

    async def main() -> CollectSummary:
        stop = asyncio.Event()
        box: dict[str, str] = {}
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, _on_signal, stop, sig, box, stream)
        summary = await collect_async(opts, stop, out=stream)
        if "signal" in box and summary.stop_reason == "stopped":
            summary.stop_reason = f"{box['signal']} received"
        return summary

    return asyncio.run(main())


def _on_signal(stop: asyncio.Event, sig: signal.Signals, box: dict[str, str],
               out: TextIO | None) -> None:
    name = signal.Signals(sig).name
    if out is not None:
        note = ("already stopping; what is held is still written" if stop.is_set()
                else "stopping: writing what is held")
        print(f"[collect] {name} received: {note}", file=out, flush=True)
    box.setdefault("signal", name)
    stop.set()
