"""Ingest: input files → frames → games → validated lake rows, in bounded batches.

    summary = ingest([Path("captures/")], lake=Path("lake"))
    print(summary)

Per file (`readers.iter_inputs` expands folders, each real folder and file once), the format
is sniffed from the first lines that are records (`readers.detect.detect`):

    frame formats      `readers.read_frames` → `assembly.assembler.GameAssembler.feed`; every
                       `batch_frames` frames (or `raw_batch_bytes` of arguments, by default
                       `config.RAW_BATCH_BYTES`) the raw_events rows are written, and every
                       `batch_frames * DERIVED_EVERY_BATCHES` frames all the other rows
    legacy recording   `readers.legacy.LegacyImporter`, one for the run: each file's rejects
                       and counters as it is read; the ticks and games of all recordings at
                       the end, so a game recorded in two files keeps each tick's earliest
                       receipt and the duplicates are counted (memory: the recordings' ticks)
    empty              read, nothing to write
    anything else      skipped, with its reason, in `IngestSummary.files_skipped`

Unreadable records (`BadRecord`) become `rejects` rows; a file or folder that cannot be read at
all never stops the run, nor does a file that breaks mid-way (a truncated gzip: the lines before
the break are kept, the break is in `IngestSummary.files_cut_short`). One assembler serves the
whole run, so a game that spans two files (a journal rotated mid-game) is still one game.
Memory stays bounded by `batch_frames` raw frames (at most `raw_batch_bytes` of arguments)
and the other rows of `batch_frames * DERIVED_EVERY_BATCHES` frames (~1% of their bytes);
the legacy recordings' ticks are held until the end of the run (above).
"""

from __future__ import annotations

import gc
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rugslab.assembly.assembler import GameAssembler
from rugslab.config import DEFAULT_BATCH_FRAMES, DERIVED_EVERY_BATCHES, RAW_BATCH_BYTES
from rugslab.errors import ConfigError, InputFormatError, LakeError, LakeWriteError
from rugslab.feed.frames import BadRecord
from rugslab.ingest_summary import IngestSummary
from rugslab.lake.validate import content_reject
from rugslab.lake.writer import WriteReport, write_batch
from rugslab.lake.zones import LakeReceipts
from rugslab.readers import detect as fmt
from rugslab.readers import iter_inputs, read_frames
from rugslab.readers.clock import RecordingZones
from rugslab.readers.detect import detect
from rugslab.readers.files import ReadMeter, cuts_recorded, metered
from rugslab.readers.inputs import input_size
from rugslab.readers.legacy import LegacyImporter
from rugslab.tables.batch import RowBatch
from rugslab.tables.schemas import TABLES


class _Run:
    """State of one ingest run: the pending batch, the summary, the keys seen."""

    def __init__(self, lake: Path, summary: IngestSummary) -> None:
        self.lake = lake
        self.summary = summary
        self.keys: dict[str, set[tuple[Any, ...]]] = {
            t: set() for t, spec in TABLES.items() if spec.kind == "merge"
        }
        self.revealed: set[str] = set()

    def write(self, batch: RowBatch) -> None:
        if not len(batch) and not batch.counters:
            return
        s = self.summary
        s.counters.update({k: v for k, v in batch.counters.items() if k != "frames"})
        for t, keys in self.keys.items():
            key = TABLES[t].key
            keys.update(tuple(r.get(k) for k in key) for r in batch.rows.get(t, []))
        for r in batch.rows.get("seeds", []):
            if r.get("server_seed") and isinstance(r.get("game_id"), str):
                self.revealed.add(r["game_id"])
        report: WriteReport = write_batch(self.lake, batch)
        for t, rep in report.tables.items():
            if t not in self.keys:
                s.rows_in[t] += rep.offered
            s.rows_new[t] += rep.new
            s.rejected[t] += rep.rejected
            if rep.conflicts:
                s.counters[f"{t}.lake_conflict"] += rep.conflicts
        if report.maintenance_errors:  # the rows are written; the tidy-up is retried later
            s.counters["lake.maintenance_failed"] += len(report.maintenance_errors)
        # counted by the write under the lake's lock: concurrent runs never both claim a seed
        s.seeds_revealed_new += report.revealed("seeds")

    def finish(self) -> None:
        for t, keys in self.keys.items():
            self.summary.rows_in[t] = len(keys)
        self.summary.seeds_revealed_in = len(self.revealed)


class _Batches:
    """When an ingest run writes, so memory stays bounded: the raw frames every `batch_frames`
    frames (or once their arguments pass `raw_batch_bytes`), everything else every
    `batch_frames * DERIVED_EVERY_BATCHES` frames (the assembler drained), and the rows of
    legacy recordings every `batch_frames` rows."""

    def __init__(self, run: _Run, assembler: GameAssembler, batch_frames: int, *,
                 raw_batch_bytes: int = RAW_BATCH_BYTES) -> None:
        self.run = run
        self.assembler = assembler
        self.batch_frames = batch_frames
        self.raw_batch_bytes = raw_batch_bytes
        self.drain_at = batch_frames * DERIVED_EVERY_BATCHES
        self.pending = RowBatch()  # rows that do not come from the assembler
        self.n_pending = 0  # frames and rows since the last full write
        self.n_raw = 0  # frames since the last raw write

    def add_rows(self, batch: RowBatch, *, write: bool = True) -> None:
        """Rows from outside the assembler (a legacy recording's); a full write once they
        reach `batch_frames` (unless `write` is False)."""
        self.pending.merge(batch)
        self.n_pending += len(batch)
        if write and self.n_pending >= self.batch_frames:
            self.flush()

    def add_reject(self, row: dict[str, Any]) -> None:
        """A `rejects` row for input no reader could turn into a frame."""
        self.pending.add("rejects", row)

    def frame_fed(self) -> bool:
        """Count a frame the assembler took and write when due. True when the progress bar
        should move (after a write, and every 1,024 frames)."""
        self.n_pending += 1
        self.n_raw += 1
        if self.n_pending >= self.drain_at:
            self.flush()
            return True
        if self.n_raw >= self.batch_frames or (
            not self.n_raw % 64 and self.assembler.raw_bytes >= self.raw_batch_bytes
        ):
            self.run.write(self.assembler.drain_raw())
            self.n_raw = 0
            return True
        return not self.n_raw % 1024

    def flush(self, *, collect: bool = True) -> None:
        """Write everything held: the assembler's rows and the pending ones."""
        batch = self.assembler.drain()
        batch.merge(self.pending)
        self.pending, self.n_pending, self.n_raw = RowBatch(), 0, 0
        self.run.write(batch)
        del batch
        # automatic collection is paused (`_collection_per_batch`): collect the cycles the
        # writes since the last flush left behind. The raw writes between flushes collect
        # nothing: they leave no Arrow export of the raw text buffer in a cycle (tested), and
        # `tables.texts.TextArena` would start a new buffer if one did.
        if collect:
            gc.collect()


class _Progress:
    """The tqdm bar over the run's input bytes, moved within a file as its reader reads it
    (`readers.files.ReadMeter`), so one big archive does not sit at 0% until its end."""

    def __init__(self, total: int, meter: ReadMeter, *, enabled: bool) -> None:
        self.bar = tqdm(total=total, unit="B", unit_scale=True, desc="ingest", file=sys.stderr,
                        disable=not enabled)
        self._meter = meter
        self._in_file = 0  # bytes of the current file shown

    def tick(self, frames: int, size: int) -> None:
        """Show the current file read up to the meter's position (at most `size`)."""
        pos = min(self._meter.position, size)
        if pos > self._in_file:
            self.bar.update(pos - self._in_file)
            self._in_file = pos
        self.bar.set_postfix(frames=frames, refresh=False)

    def file_done(self, frames: int, size: int) -> None:
        """Show the whole file read; the next file starts at 0."""
        self.bar.set_postfix(frames=frames, refresh=False)
        self.bar.update(max(size - self._in_file, 0))
        self._in_file = 0


def _bad_row(bad: BadRecord) -> dict[str, Any]:
    where = f"{Path(bad.source).name}:{bad.line_no}" if bad.line_no is not None else bad.source
    return content_reject(
        "raw_events",
        f"{where}: {bad.reason}",
        bad.raw,
        source=bad.source,
        recv_ts=bad.recv_ts_us,
        locator=where,
    )


@contextmanager
def _collection_per_batch() -> Iterator[None]:
    """Cyclic garbage collection paused for a run: `flush` collects once per batch instead.

    Millions of short-lived containers per batch (decoded frames, rows) would make automatic
    collection rescan the long-lived ones over and over, and ingest makes no reference cycles
    per frame. What is alive before the run (modules, the caller's objects) outlives it, so it
    is frozen: the run's full passes need not walk it. It is collected first (a cycle already
    dead would be kept for the whole run) and moved back when the run ends; a caller's own
    freeze (e.g. before forking) is left as it is. The collector is restored on the way out,
    also when the run fails.
    """
    was_enabled = gc.isenabled()
    freezing = gc.get_freeze_count() == 0
    gc.disable()
    try:
        if freezing:
            gc.collect()
            gc.freeze()
        yield
    finally:
        if freezing:
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def ingest(
    paths: Iterable[Path | str],
    *,
    lake: Path | str,
    batch_frames: int = DEFAULT_BATCH_FRAMES,
    progress: bool = True,
    utc_offset_us: int | None = None,
    raw_batch_bytes: int = RAW_BATCH_BYTES,
) -> IngestSummary:
    """Read every input file into the lake; re-ingesting the same files adds no rows.

    Args:
        paths: files and/or folders (walked recursively; README files and hidden entries skipped).
        lake: lake root folder (created if missing).
        batch_frames: frames per raw_events write; bounds memory (the raw rows of about this
            many frames are held; the other tables are written every
            `DERIVED_EVERY_BATCHES` batches).
        progress: show a tqdm bar over input bytes on stderr (only when stderr is a TTY).
        utc_offset_us: the recorder's UTC offset (local − UTC, µs) for local-clock captures
            whose zone cannot be inferred (`readers.clock.parse_utc_offset("-05:00")`); a zone
            the recording already has in the lake still wins (`readers.clock`).
        raw_batch_bytes: the raw_events rows are also written, before `batch_frames` frames,
            once the frames' arguments held reach this many bytes (checked every 64 frames);
            bounds memory when frames are big.

    Returns:
        An `IngestSummary` (print it for a table of rows offered / new / rejected).

    Raises:
        ConfigError: `batch_frames` or `raw_batch_bytes` is not positive.
        InputFormatError: a path given does not exist.
        LakeError: the lake cannot be written (read-only, disk full): the message names the
            file, how far the run got and the fix; what was written stays (whole files only)
            and the same ingest run again adds the rest once.
    """
    if batch_frames <= 0:
        raise ConfigError(f"Invalid batch_frames {batch_frames}: expected a positive whole number.")
    if raw_batch_bytes <= 0:
        raise ConfigError(
            f"Invalid raw_batch_bytes {raw_batch_bytes}: expected a positive whole number."
        )
    lake = Path(lake)
    summary = IngestSummary()
    files = list(iter_inputs(paths, on_skip=summary.skip, counters=summary.counters))
    run = _Run(lake, summary)
    assembler = GameAssembler()
    zones = RecordingZones(LakeReceipts(lake))  # one zone per recording, across files and runs
    # one importer for the run: a game recorded in several files keeps each tick's earliest
    # receipt, and the duplicates are counted (legacy ticks are held until the end of the run)
    legacy = LegacyImporter()
    batches = _Batches(run, assembler, batch_frames, raw_batch_bytes=raw_batch_bytes)

    sizes = {p: input_size(p) for p in files}
    enabled = progress and sys.stderr.isatty()
    done = 0  # input files finished, for the message of a lake write that fails
    # on the way out: the collector as it was, the bar closed, then the reader meter reset
    with ExitStack() as stack:
        stack.enter_context(_lake_error_explained(lake, lambda: (done, len(files))))
        show = _Progress(sum(sizes.values()), stack.enter_context(metered()), enabled=enabled)
        stack.callback(show.bar.close)
        # a file that breaks mid-way (a cut gzip) ends there: its lines before are read
        cuts = stack.enter_context(cuts_recorded())
        stack.enter_context(_collection_per_batch())
        for done, path in enumerate(files):  # noqa: B007 - `done` is read by the lake errors
            try:
                found = detect(path)
            except InputFormatError as e:
                summary.skip(path, str(e))
                show.file_done(summary.frames, sizes[path])
                continue
            kind = found.format
            if kind == fmt.LEGACY_RECORDING:
                try:
                    batch = legacy.add_file(path)  # its rejects and counters; ticks come last
                except InputFormatError as e:
                    summary.skip(path, str(e))
                else:
                    summary.files_read += 1
                    batches.add_rows(batch)
            elif kind == fmt.EMPTY:
                summary.files_read += 1
            elif kind in fmt.FRAME_FORMATS:
                summary.files_read += 1
                counters: Counter[str] = Counter()
                try:
                    for item in read_frames(path, format=kind, counters=counters, zones=zones,
                                            utc_offset_us=utc_offset_us):
                        if isinstance(item, BadRecord):
                            batches.add_reject(_bad_row(item))
                            summary.bad_records += 1
                            continue
                        assembler.feed(item)
                        summary.frames += 1
                        if batches.frame_fed():
                            show.tick(summary.frames, sizes[path])
                except InputFormatError as e:
                    # cut short mid-file (a read error): keep what was read, say so
                    cuts.record(path, str(e))
                for k, v in counters.items():
                    if k not in ("frames", "bad_records"):
                        summary.counters[k] += v
            else:
                summary.skip(path, found.skip_reason())
            why = cuts.pop(path)
            if why is not None:
                summary.files_cut_short.append((str(path), why))
            show.file_done(summary.frames, sizes[path])
        done = len(files)
        batches.add_rows(legacy.finish(), write=False)
        batches.flush(collect=False)  # the run ends: the collector is restored as the block exits
    run.finish()
    return summary


@contextmanager
def _lake_error_explained(lake: Path, progress: Callable[[], tuple[int, int]]) -> Iterator[None]:
    """A `LakeError` of the block again, with how far the run got (`progress()`: input files
    finished, of all) and the fix."""
    try:
        yield
    except LakeError as e:
        done, total = progress()
        fix = (f"free space on the lake's disk or make {str(lake)!r} writable"
               if isinstance(e, LakeWriteError) else "fix what the message names")
        raise type(e)(
            f"{e}. Ingest stopped with {done} of {total} input files read; {fix}, then run the "
            "same ingest again: rows already written are kept once and the rest is added.",
            path=e.path,
        ) from e

