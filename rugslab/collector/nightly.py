"""`rugslab nightly`: collect for a while, compact, verify, report.

Meant for cron or a systemd timer (README): one run collects for `duration_s`, then compacts
the append partitions into few large files (readers keep seeing exactly the same rows while
it runs; see `rugslab.lake.compact`), verifies every revealed seed, and prints one report.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

from rugslab.collector.run import CollectOptions, collect
from rugslab.collector.summary import CollectSummary
from rugslab.fair.verify import VerifySummary, verify_lake
from rugslab.lake.compact import CompactReport, compact_lake
from rugslab.lake.status import LakeStatus, lake_status


@dataclass(slots=True)
class NightlyReport:
    """The three steps' results and the lake afterwards."""

    collected: CollectSummary
    compacted: CompactReport
    verified: VerifySummary
    status: LakeStatus

    @property
    def ok(self) -> bool:
        """False when any game failed verification."""
        return self.verified.failures.height == 0

    def __str__(self) -> str:
        return "\n\n".join(
            [
                "== collect ==\n" + str(self.collected),
                "== compact ==\n" + str(self.compacted),
                "== verify ==\n" + str(self.verified),
                "== lake ==\n" + str(self.status),
            ]
        )


def run_nightly(
    opts: CollectOptions, *, grace_s: float = 600.0, out: TextIO | None = sys.stderr
) -> NightlyReport:
    """Collect with `opts`, then compact and verify the lake; returns the report.

    Raises:
        LakeError: the lake cannot be read or written, or another collector holds it.
    """
    collected = collect(opts, out=out)
    compacted = compact_lake(opts.lake, grace_s=grace_s)
    verified = verify_lake(opts.lake)
    return NightlyReport(collected, compacted, verified, lake_status(opts.lake))
