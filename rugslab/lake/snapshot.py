"""One consistent view of the whole lake: each table's version, its commit time and its files.

    snap = lake_snapshot(Path("lake"))                      # the latest versions
    snap = lake_snapshot(Path("lake"), as_of=datetime(...))  # time travel (UTC)
    print(snap.describe())   # "lake lake read 2026-12-03T13:40:02.123Z: games v12, ..."

A result (a notebook's numbers, a query's output) is reproduced later by reading the lake as of
the time printed (`rugslab sql --as-of`, `connect(lake, as_of=...)`), as long as the log still
reaches back that far (`delta_maintain.LOG_RETENTION`). The catalog's views read exactly the
files of a snapshot (`files`), so a connection sees one version per table for its whole life,
whatever writers commit meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from rugslab.lake.delta import commit_time, open_table
from rugslab.lake.delta_read import table_files
from rugslab.tables.schemas import TABLES


@dataclass(frozen=True, slots=True)
class TableState:
    """One table in a `LakeSnapshot`.

    Attributes:
        version: the Delta table version read (0 = its creation commit).
        committed_at: commit time of that version (UTC).
        files: (data file path, partition date) of that version, sorted by path.
    """

    version: int
    committed_at: datetime
    files: list[tuple[Path, date]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LakeSnapshot:
    """The tables of a lake at one moment: `tables` holds every table that existed then
    (missing tables read as empty); `read_at` is when the snapshot was taken (UTC), `as_of`
    the time travel instant asked for (None: latest)."""

    lake: Path
    read_at: datetime
    as_of: datetime | None
    tables: dict[str, TableState]

    def versions(self) -> dict[str, int]:
        """table → version read."""
        return {t: s.version for t, s in self.tables.items()}

    def describe(self) -> str:
        """One line to print beside a result: the read time (and `as_of`) and each table's
        version, enough to read the same state again with `--as-of`."""
        when = iso_ms(self.read_at)
        head = f"lake {self.lake} read {when}"
        if self.as_of is not None:
            head += f" as of {iso_ms(self.as_of)}"
        if not self.tables:
            return f"{head}: no tables yet"
        parts = ", ".join(f"{t} v{s.version}" for t, s in self.tables.items())
        return f"{head}: {parts} (reproduce with --as-of {when})"


def iso_ms(when: datetime) -> str:
    """UTC ISO 8601 to the millisecond (Delta's commit time resolution): floored, so a
    commit made before the read is never after the printed time."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now() -> datetime:
    """The read time, floored to the millisecond (the resolution `describe` prints and Delta
    commit times have)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def lake_snapshot(lake: Path | str, *, as_of: datetime | None = None) -> LakeSnapshot:
    """Open every lake table (latest, or as of `as_of`) and list its version and files.

    Args:
        lake: lake root folder.
        as_of: read each table at its latest version committed at or before this instant (a
            naive datetime is UTC); a table created later is absent (reads as empty).

    Returns:
        A `LakeSnapshot` (tables not created yet are absent from `tables`).

    Raises:
        LakeError: a table folder holds the old layout (fix: `rugslab lake migrate`), its log
            is corrupt or unreadable, or the log before `as_of` was removed (as
            `delta.open_table`).
    """
    lake = Path(lake)
    read_at = _now()
    tables: dict[str, TableState] = {}
    for name in TABLES:
        dt = open_table(lake, name, as_of=as_of)
        if dt is not None and as_of is None and commit_time(dt) > read_at:
            # committed while the tables were being opened: take the version of `read_at`,
            # so reading `--as-of read_at` later gives exactly this snapshot
            dt = open_table(lake, name, as_of=read_at)
        if dt is None:
            continue
        tables[name] = TableState(dt.version(), commit_time(dt), table_files(dt))
        del dt  # release the native table before the next one is opened
    return LakeSnapshot(lake, read_at, as_of, tables)
