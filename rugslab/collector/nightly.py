"""`rugslab nightly`: collect for a while, compact, verify, report.

Meant for cron or a systemd timer (README): one run collects for `duration_s`, then maintains
every Delta table (compaction of each partition into one file, a checkpoint, log cleanup and
`vacuum` of files unreferenced for the retention; readers keep seeing exactly the same rows
while it runs: `rugslab.lake.delta_maintain`), verifies every revealed seed, and prints one
report.

Signals: SIGINT or SIGTERM while collecting ends the collecting (what is held is written:
`rugslab.collector.run`); one that arrives during compaction or verification lets the running
step finish (each leaves the lake whole either way) and skips the steps after it, so a
systemd stop (`KillSignal=SIGINT`) ends with the report and exit status 0, not a traceback.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from types import FrameType
from typing import TypeVar

from rugslab.collector.journal import pending_journals
from rugslab.collector.run import STDERR, CollectOptions, Out, collect
from rugslab.collector.summary import CollectSummary
from rugslab.fair.verify import VerifySummary
from rugslab.lake.delta_maintain import RETENTION, LakeMaintenance, maintain_lake
from rugslab.lake.status import LakeStatus, lake_status
from rugslab.lake.verify import verify_lake


@dataclass(slots=True)
class NightlyReport:
    """The three steps' results and the lake afterwards."""

    collected: CollectSummary
    compacted: LakeMaintenance | None
    verified: VerifySummary | None
    status: LakeStatus
    #: the signal that skipped the steps after the running one (e.g. "SIGTERM"), or None
    stopped_by: str | None = field(default=None)

    @property
    def ok(self) -> bool:
        """False when any game failed verification (a skipped verification is not a failure)."""
        return self.verified is None or self.verified.failures.height == 0

    def _step(self, result: object) -> str:
        if result is not None:
            return str(result)
        return (f"skipped: {self.stopped_by} received during an earlier step; the next "
                "`rugslab nightly` runs it")

    def __str__(self) -> str:
        return "\n\n".join(
            [
                "== collect ==\n" + str(self.collected),
                "== compact ==\n" + self._step(self.compacted),
                "== verify ==\n" + self._step(self.verified),
                "== lake ==\n" + str(self.status),
            ]
        )


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


def run_nightly(
    opts: CollectOptions, *, retention: timedelta = RETENTION, out: Out = STDERR
) -> NightlyReport:
    """Collect with `opts`, then maintain (compact, vacuum files unreferenced for `retention`)
    and verify the lake; returns the report.

    Raises:
        LakeError: the lake cannot be read or written, or another collector holds it.
    """
    collected = collect(opts, out=out)
    with _signals_deferred() as seen:

        def step(run: Callable[[], _T]) -> _T | None:
            return None if seen else run()

        compacted = step(lambda: maintain_lake(opts.lake, retention=retention))
        verified = step(lambda: verify_lake(opts.lake))
        status = lake_status(opts.lake, pending_journals=len(pending_journals(opts.lake)))
    return NightlyReport(collected, compacted, verified, status, seen[0] if seen else None)
