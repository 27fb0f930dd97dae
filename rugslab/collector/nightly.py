"""`rugslab nightly`: collect for a while, compact, verify, report.

Meant for cron or a systemd timer (README): one run collects for `duration_s`, then maintains
every Delta table (compaction of each partition into one file, a checkpoint, log cleanup and
`vacuum` of files unreferenced for the retention; readers keep seeing exactly the same rows
while it runs: `rugslab.lake.delta_maintain`), verifies every revealed seed, runs the caller's
report step (the CLI writes the day's `rugslab report` files) and prints one summary.

The report step comes last and cannot undo anything: when it fails, the failure is printed in
the summary (`report_failed`; the CLI exits 1) and the maintenance and verification stand.

Signals: SIGINT or SIGTERM while collecting ends the collecting (what is held is written:
`rugslab.collector.run`); one that arrives during compaction or verification lets the running
step finish (each leaves the lake whole either way) and skips the steps after it, so a
systemd stop (`KillSignal=SIGINT`) ends with the report and exit status 0, not a traceback.
"""

from __future__ import annotations

import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from types import FrameType
from typing import TextIO, TypeVar

from rugslab.collector.journal import pending_journals
from rugslab.collector.run import CollectOptions, collect
from rugslab.collector.summary import CollectSummary
from rugslab.config import STDERR, Out, status_stream
from rugslab.errors import RugslabError
from rugslab.fair.verify import VerifySummary
from rugslab.lake.delta_maintain import RETENTION, LakeMaintenance, maintain_lake
from rugslab.lake.status import LakeStatus, lake_status
from rugslab.lake.verify import verify_lake


@dataclass(slots=True)
class NightlyReport:
    """The steps' results and the lake afterwards."""

    collected: CollectSummary
    compacted: LakeMaintenance | None
    verified: VerifySummary | None
    status: LakeStatus
    #: the signal that skipped the steps after the running one (e.g. "SIGTERM"), or None
    stopped_by: str | None = field(default=None)
    #: the report step's result (printed as it is), None when it failed or was skipped
    reported: object | None = field(default=None)
    #: why the report step failed, or None
    report_error: str | None = field(default=None)
    #: whether a report step was given (the summary has a report section then)
    report_asked: bool = field(default=False)

    @property
    def ok(self) -> bool:
        """False when any game failed verification (a skipped verification is not a failure)."""
        return self.verified is None or self.verified.failures.height == 0

    @property
    def report_failed(self) -> bool:
        """True when the report step ran and failed (the maintenance and verification stand)."""
        return self.report_error is not None

    def _step(self, result: object) -> str:
        if result is not None:
            return str(result)
        return (f"skipped: {self.stopped_by} received during an earlier step; the next "
                "`rugslab nightly` runs it")

    def __str__(self) -> str:
        parts = [
            "== collect ==\n" + str(self.collected),
            "== compact ==\n" + self._step(self.compacted),
            "== verify ==\n" + self._step(self.verified),
        ]
        if self.report_asked:
            parts.append("== report ==\n" + (
                f"FAILED: {self.report_error} (the lake was compacted and verified all the "
                "same; the next `rugslab nightly` or `rugslab report` writes it)"
                if self.report_error is not None else self._step(self.reported)))
        parts.append("== lake ==\n" + str(self.status))
        return "\n\n".join(parts)


_T = TypeVar("_T")


@contextmanager
def _signals_deferred() -> Iterator[list[str]]:
    """SIGINT/SIGTERM noted instead of acted on while the block runs (main thread only;
    elsewhere signals keep their handlers). Yields the list the signals' names go to."""
    seen: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def note(signum: int, _frame: FrameType | None) -> None:
        seen.append(signal.Signals(signum).name)

    old = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield seen
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _run_report(report: Callable[[], object], out: TextIO | None) -> tuple[object, str | None]:
    """(result, None), or (None, why) when the report step raised: the maintenance and the
    verification are done by then, and their summary must still be printed."""
    try:
        return report(), None
    except RugslabError as e:
        return None, str(e)
    except Exception as e:  # any failure of the add-on step is reported, not raised
        if out is not None:
            traceback.print_exc(file=out)
        return None, f"{type(e).__name__}: {e}"


def run_nightly(
    opts: CollectOptions, *, retention: timedelta = RETENTION, out: Out = STDERR,
    report: Callable[[], object] | None = None,
) -> NightlyReport:
    """Collect with `opts`, then maintain (compact, vacuum files unreferenced for `retention`)
    and verify the lake, then call `report` (e.g. write the day's report; its result is
    printed in the summary); returns the summary.

    A `report` that raises does not raise here: the error is `report_error` (its traceback,
    unless a `RugslabError`, goes to `out`).

    Raises:
        LakeError: the lake cannot be read or written, or another collector holds it.
    """
    stream = status_stream(out)
    collected = collect(opts, out=stream)
    report_error: str | None = None
    with _signals_deferred() as seen:

        def step(run: Callable[[], _T]) -> _T | None:
            return None if seen else run()

        compacted = step(lambda: maintain_lake(opts.lake, retention=retention))
        verified = step(lambda: verify_lake(opts.lake))
        reported = None
        if report is not None and not seen:
            reported, report_error = _run_report(report, stream)
        status = lake_status(opts.lake, pending_journals=len(pending_journals(opts.lake)))
    return NightlyReport(collected, compacted, verified, status, seen[0] if seen else None,
                         reported=reported, report_error=report_error,
                         report_asked=report is not None)
