"""`IngestSummary`: what one ingest run read and wrote, printed as the command's report.

Filled by `rugslab.ingest.ingest` (and by the collector's journal recovery, which ingests).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

#: Tables in the order the summary lists them.
SUMMARY_TABLES = ("games", "ticks", "trades", "side_bets", "leaderboard", "player_games", "seeds",
                  "gaps", "raw_events", "rejects")


@dataclass(slots=True)
class IngestSummary:
    """What one `ingest` run read and wrote.

    Attributes:
        files_read: files whose records were read (fully or, after a mid-file error, in part).
        files_skipped: (path, reason) of files (or folders) that could not be read at all;
            the reason says why, where (e.g. the line) and what to do.
        files_cut_short: (path, reason) of files read only up to a break (a truncated or
            corrupt gzip stream, a read error); they count in `files_read`, every line before
            the break is kept, and the line the break cut is a `rejects` row.
        frames: frames read from frame formats (legacy records are not frames).
        bad_records: records no reader could turn into a frame (each is a `rejects` row).
        rows_in: per table, rows offered to the lake, the summary's `offered` column: for
            merge tables (games, seeds, side_bets) distinct keys over the run; for the others
            the sum over writes of the distinct keys of each write (a row that recurs in a
            later write, e.g. a history tick, counts again; `new rows` never does).
        rows_new: per table, rows the lake did not hold before (re-ingest gives 0; for `gaps`:
            gap rows that changed).
        rejected: per table, rows of the input that failed typing or validation.
        seeds_revealed_in: games whose server seed the input reveals.
        seeds_revealed_new: games whose seed the lake did not know before.
        counters: repaired/rejected counts from readers, importer and assembler
            (`RowBatch.counters`, e.g. `legacy.torn_lines`), and from the writer
            (`ticks.lake_conflict`: ticks whose price differs from the lake's row for the same
            (game, tick), which is kept: `TableReport.conflicts`).
    """

    files_read: int = 0
    files_skipped: list[tuple[str, str]] = field(default_factory=list)
    files_cut_short: list[tuple[str, str]] = field(default_factory=list)
    frames: int = 0
    bad_records: int = 0
    rows_in: Counter[str] = field(default_factory=Counter)
    rows_new: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    seeds_revealed_in: int = 0
    seeds_revealed_new: int = 0
    counters: Counter[str] = field(default_factory=Counter)

    @property
    def files_incomplete(self) -> int:
        """Inputs skipped or cut short: the CLI exits 1 when there is any."""
        return len(self.files_skipped) + len(self.files_cut_short)

    def skip(self, path: Path | str, reason: str) -> None:
        """Note an input that could not be read at all, with the reason."""
        self.files_skipped.append((str(path), reason))

    def __str__(self) -> str:
        cut = f", cut short: {len(self.files_cut_short)}" if self.files_cut_short else ""
        lines = [
            f"files read: {self.files_read}, skipped: {len(self.files_skipped)}{cut}",
            *(f"  skipped {p}: {why}" for p, why in self.files_skipped),
            *(f"  cut short {p}: {why}" for p, why in self.files_cut_short),
            f"frames: {self.frames:,}  bad records: {self.bad_records:,}",
            "",
            f"{'table':<16}{'offered':>12}{'new rows':>12}{'rejected':>12}",
        ]
        for t in SUMMARY_TABLES:
            lines.append(f"{t:<16}{self.rows_in[t]:>12,}{self.rows_new[t]:>12,}"
                         f"{self.rejected[t]:>12,}")
        lines.append(f"{'seeds revealed':<16}{self.seeds_revealed_in:>12,}"
                     f"{self.seeds_revealed_new:>12,}")
        if self.counters:
            lines += ["", "counters:"]
            lines += [f"  {k}: {v:,}" for k, v in sorted(self.counters.items())]
        return "\n".join(lines)
