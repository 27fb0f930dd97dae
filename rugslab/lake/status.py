"""`rugslab status`: what the lake holds and how healthy it is, in one screen.

Games per day with coverage, the last commit, gaps, rejects, verification state, journal
files still waiting to be ingested, connection history, and the version of every table with
the time it was read (`lake.snapshot`), so what was seen can be read again with `--as-of`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from rugslab.errors import LakeError
from rugslab.lake.catalog import connect
from rugslab.lake.delta_maintain import RETENTION
from rugslab.lake.snapshot import LakeSnapshot

_PER_DAY = """
SELECT g.date AS date,
       count(*) AS games,
       count(*) FILTER (WHERE g.rugged OR g.rug_tick IS NOT NULL) AS rugged,
       count(*) FILTER (WHERE g.completeness = 'complete') AS complete,
       count(*) FILTER (WHERE g.completeness = 'partial') AS partial,
       count(*) FILTER (WHERE g.revealed) AS revealed,
       count(v.game_id) FILTER (WHERE v.status = 'verified') AS verified,
       count(v.game_id) FILTER (WHERE v.status = 'failed') AS failed,
       coalesce(sum(g.ticks_recorded), 0)::BIGINT AS ticks,
       round(100.0 * sum(g.ticks_recorded)
             / nullif(sum(g.ticks_recorded) + sum(g.ticks_missing), 0), 2) AS coverage_pct
FROM games g LEFT JOIN verifications v USING (game_id)
GROUP BY g.date ORDER BY g.date
"""


@dataclass(slots=True)
class LakeStatus:
    """A summary of the lake (see module docstring); `snapshot` holds the table versions
    it was computed from, `files` their data files, `last_write` the newest commit time.
    `unreferenced` counts data files on disk that the current versions do not use: files
    replaced by compaction or merges (kept for readers of older versions) and files of
    writers killed before their commit; the nightly `vacuum` deletes them once older than
    its retention (`delta_maintain.RETENTION`)."""

    lake: Path
    per_day: pl.DataFrame
    last_write: datetime | None
    gaps: int
    gap_ticks: int
    rejects: dict[str, int] = field(default_factory=dict)
    pending_journals: int = 0
    connections: dict[str, int] = field(default_factory=dict)
    files: int = 0
    unreferenced: int = 0
    snapshot: LakeSnapshot | None = None

    @property
    def games(self) -> int:
        return int(self.per_day["games"].sum()) if self.per_day.height else 0

    def __str__(self) -> str:
        age = (
            "never"
            if self.last_write is None
            else f"{self.last_write:%Y-%m-%d %H:%M:%S} UTC "
            f"({time.time() - self.last_write.timestamp():,.0f} s ago)"
        )
        lines = [f"lake {self.lake}: {self.games:,} games, {self.files:,} files; last write {age}"]
        if self.per_day.height:
            with pl.Config(
                tbl_rows=60,
                tbl_cols=-1,
                tbl_width_chars=160,
                tbl_hide_dataframe_shape=True,
                tbl_hide_column_data_types=True,
                tbl_formatting="ASCII_MARKDOWN",
            ):
                lines.append(str(self.per_day))
        lines.append(f"gaps: {self.gaps:,} runs, {self.gap_ticks:,} ticks nobody could fill")
        rej = ", ".join(f"{t} {n:,}" for t, n in sorted(self.rejects.items())) or "none"
        lines.append(f"rejects: {rej}")
        conn = ", ".join(f"{k} {n:,}" for k, n in sorted(self.connections.items())) or "none"
        lines.append(f"collector connections: {conn}")
        lines.append(f"journal files waiting to be ingested: {self.pending_journals}")
        lines.append(f"data files no current version uses: {self.unreferenced:,} (kept for "
                     "older versions or left by killed writers; the nightly vacuum deletes "
                     f"them after {RETENTION.days} days)")
        if self.snapshot is not None:
            lines.append(self.snapshot.describe())
        return "\n".join(lines)


def lake_status(lake: Path, *, pending_journals: int = 0) -> LakeStatus:
    """Read the lake at `lake` and summarise it.

    Args:
        lake: lake root folder.
        pending_journals: collector journal files not yet ingested (the caller counts them:
            `rugslab.collector.journal.pending_journals`; the lake does not know the
            collector's files).

    Raises:
        LakeError: there is no lake at `lake` (the message says how to make one).
    """
    lake = Path(lake)
    if not lake.is_dir():
        raise LakeError(
            f"no lake at {lake}: run `rugslab ingest PATH...` or `rugslab collect` first, "
            "or point --lake / RUGSLAB_LAKE at an existing lake",
            path=lake,
        )
    with connect(lake) as con:
        snap = con.snapshot
        per_day = con.sql(_PER_DAY).pl()
        gap_sql = "SELECT count(*), coalesce(sum(n_ticks), 0) FROM gaps"
        gaps, gap_ticks = con.sql(gap_sql).fetchall()[0]
        rejects = dict(con.sql('SELECT "table", count(*) FROM rejects GROUP BY 1').fetchall())
        conns = dict(con.sql("SELECT kind, count(*) FROM connections GROUP BY 1").fetchall())
    return LakeStatus(
        lake=lake,
        per_day=per_day,
        last_write=max((t.committed_at for t in snap.tables.values()), default=None),
        gaps=int(gaps),
        gap_ticks=int(gap_ticks),
        rejects={str(k): int(v) for k, v in rejects.items()},
        pending_journals=pending_journals,
        connections={str(k): int(v) for k, v in conns.items()},
        files=sum(len(t.files) for t in snap.tables.values()),
        unreferenced=_unreferenced(snap),
        snapshot=snap,
    )



def _unreferenced(snap: LakeSnapshot) -> int:
    """Data files under the snapshot's tables' partition folders that it does not list."""
    n = 0
    for table, state in snap.tables.items():
        listed = {p.resolve() for p, _ in state.files}
        on_disk = (snap.lake / table).glob("date=*/*.parquet")
        n += sum(1 for p in on_disk if p.resolve() not in listed)
    return n
