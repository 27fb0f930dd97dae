"""What one collector run did: `CollectSummary`, printed by `rugslab collect` and `nightly`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rugslab.ingest_summary import IngestSummary
from rugslab.lake.writer import WriteReport
from rugslab.tables.batch import RowBatch


@dataclass(slots=True)
class CollectSummary:
    """What one collector run did.

    `price_conflicts`: tick prices that disagreed with the price held or written for the same
    (game, tick) within this run (the assembler's `ticks.price_conflict`); `lake_conflicts`:
    ticks whose price disagreed with the lake's row, kept (`TableReport.conflicts`).
    `journal_failures`: journal writes the disk refused (`journal_error`: the last reason);
    `frames_not_journaled`: frames that never reached the journal (still held in memory at the
    end, or let go past its bound); `frames_lost`: those of them that did not reach the lake
    either (neither could be written). `recovery_error`: why earlier journals could not be
    recovered at the start (they are tried again at the next start). `journal_kept`: this
    run's journal is left for recovery at the next start (the lake did not take everything).
    """

    session_id: str
    url: str
    seconds: float = 0.0
    frames: int = 0
    games_complete: int = 0
    connects: int = 0
    failed_connects: int = 0
    disconnects: int = 0
    missed_ticks: int = 0
    rows_new: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    write_failures: int = 0
    price_conflicts: int = 0
    lake_conflicts: int = 0
    journal_files: list[Path] = field(default_factory=list)
    journal_failures: int = 0
    journal_error: str | None = None
    frames_not_journaled: int = 0
    frames_lost: int = 0
    recovered: IngestSummary | None = None
    recovery_error: str | None = None
    journal_kept: bool = False
    stop_reason: str = ""

    def add(self, report: WriteReport, batch: RowBatch) -> None:
        """Count a successful write of `batch` (its report and the assembler's counters)."""
        for name, t in report.tables.items():
            self.rows_new[name] = self.rows_new.get(name, 0) + t.new
            self.rejected += t.rejected
            self.lake_conflicts += t.conflicts
        self.price_conflicts += batch.counters.get("ticks.price_conflict", 0)

    def __str__(self) -> str:
        lines = [
            f"collected {self.frames:,} frames in {self.seconds:,.1f} s from {self.url} "
            f"(session {self.session_id}; stopped: {self.stop_reason})",
            f"games complete (seen live, seed revealed): {self.games_complete}",
            f"connections: {self.connects} connected, {self.failed_connects} failed, "
            f"{self.disconnects} disconnected; ticks missed live: {self.missed_ticks}",
        ]
        if self.recovery_error is not None:
            lines.append(f"EARLIER JOURNALS NOT RECOVERED ({self.recovery_error}); they stay "
                         "for the next start")
        if self.recovered is not None:
            lines.append(
                f"recovered from earlier journals: {self.recovered.frames:,} frames "
                f"({self.recovered.files_read} files)"
            )
        new = ", ".join(f"{t} {n:,}" for t, n in sorted(self.rows_new.items()) if n)
        lines.append(f"new lake rows: {new or 'none'}; rejected rows: {self.rejected}")
        if self.price_conflicts or self.lake_conflicts:
            lines.append(f"tick prices that disagreed: {self.price_conflicts} in the feed, "
                         f"{self.lake_conflicts} with the lake (the first written is kept)")
        if self.write_failures:
            fate = ("what could not be written stays in the journal and is recovered at the "
                    "next start" if self.journal_kept else "every row reached the lake in the end")
            lines.append(f"LAKE WRITES FAILED {self.write_failures} times; {fate}")
        if self.journal_failures:
            fate = (f"{self.frames_lost:,} of them are LOST (the lake could not be written either)"
                    if self.frames_lost else "all of them reached the lake")
            lines.append(
                f"JOURNAL WRITES FAILED {self.journal_failures} times ({self.journal_error}); "
                + (f"{self.frames_not_journaled:,} frames are not in the journal: {fate}"
                   if self.frames_not_journaled else "every frame reached the journal in the end")
            )
        lines.append(f"journal: {', '.join(str(p) for p in self.journal_files) or 'none'}")
        return "\n".join(lines)
