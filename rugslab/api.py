"""`Lake`: the public face of rugslab, one object per lake folder.

    import rugslab
    lake = rugslab.Lake("lake")
    lake.ingest(["../shared/captures"])          # files → lake (an `IngestSummary`)
    games = lake.table("games")                  # polars, sorted by key
    lake.sql("SELECT * FROM games_per_day")      # polars; tables and named queries are views
    lake.table("ticks", as_of="2026-12-03T13:40:02Z")   # as the lake was then
    print(lake.status())                         # games per day, versions, read time
    lake.verify()                                # provably-fair verdicts → `verifications`
    print(lake.players(player_id="did:privy:..."))  # a player's games, ledger vs server

In the spirit of sqlite-utils' `Database`: a thin object over the library functions the CLI and
the notebooks use (`rugslab.ingest`, `rugslab.lake.catalog`, `rugslab.lake.status`,
`rugslab.lake.verify`), so a script needs one import.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import polars as pl

from rugslab.collector.journal import pending_journals
from rugslab.config import DEFAULT_BATCH_FRAMES, DEFAULT_LAKE, parse_as_of
from rugslab.fair.verify import VerifySummary
from rugslab.ingest import ingest
from rugslab.ingest_summary import IngestSummary
from rugslab.lake.catalog import ReadOnlyConnection, connect, read_table
from rugslab.lake.snapshot import LakeSnapshot, lake_snapshot
from rugslab.lake.status import LakeStatus, lake_status
from rugslab.lake.verify import verify_lake
from rugslab.players.summary import PlayerSummary, player_summary


def _instant(as_of: datetime | str | None) -> datetime | None:
    return parse_as_of(as_of, arg="as_of") if isinstance(as_of, str) else as_of


class Lake:
    """A rugslab lake at `path` (default `./lake`; it need not exist before `ingest`).

    Every read takes `as_of`: a datetime (naive = UTC) or ISO 8601 text; each table is then
    read at its latest version committed at or before that instant (the log keeps 12 hours).

    Raises (every method):
        LakeError: no lake at `path` (reads), a table cannot be read or written.
        QueryError: a statement that is not one reading query, or an unknown table.
        ConfigError: `as_of` text that is not ISO 8601.
    """

    def __init__(self, path: Path | str = DEFAULT_LAKE) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Lake({str(self.path)!r})"

    def table(self, name: str, *, as_of: datetime | str | None = None) -> pl.DataFrame:
        """All rows of lake table or named query `name` (a table sorted by its key), with
        the partition column `date`."""
        return read_table(name, self.path, as_of=_instant(as_of))

    def sql(self, query: str, *, params: object = None,
            as_of: datetime | str | None = None) -> pl.DataFrame:
        """One reading SQL statement over the lake's views, as a polars frame."""
        with self.connect(as_of=as_of) as con:
            return con.sql(query, params=params).pl()

    def connect(self, *, as_of: datetime | str | None = None) -> ReadOnlyConnection:
        """A read-only DuckDB connection over one snapshot of the lake (close it, or use it
        in a `with` block)."""
        con = connect(self.path, as_of=_instant(as_of))
        assert isinstance(con, ReadOnlyConnection)
        return con

    def snapshot(self, *, as_of: datetime | str | None = None) -> LakeSnapshot:
        """Every table's version, commit time and files (`describe()` for one line)."""
        return lake_snapshot(self.path, as_of=_instant(as_of))

    def status(self) -> LakeStatus:
        """What the lake holds and how healthy it is (print it), with the collector journal
        files still waiting to be ingested."""
        return lake_status(self.path, pending_journals=len(pending_journals(self.path)))

    def verify(self) -> VerifySummary:
        """Replay every game with a revealed seed and write the verdicts (`verifications`)."""
        return verify_lake(self.path)

    def ingest(self, paths: Iterable[Path | str], *, progress: bool = False,
               batch_frames: int = DEFAULT_BATCH_FRAMES,
               utc_offset_us: int | None = None) -> IngestSummary:
        """Read capture files, recordings and archives (files or folders) into the lake;
        re-ingesting adds nothing. See `rugslab.ingest.ingest`."""
        return ingest(paths, lake=self.path, progress=progress, batch_frames=batch_frames,
                      utc_offset_us=utc_offset_us)

    def players(self, *, game_id: str | None = None, player_id: str | None = None,
                as_of: datetime | str | None = None) -> PlayerSummary:
        """Players' games rebuilt from the feed (`player_games`) and how often the ledger
        agrees with the server's leaderboard (`player_reconciliation`), for one game and/or
        player (all when None); print it. See `rugslab.players.summary`."""
        with self.connect(as_of=as_of) as con:
            games = con.sql("SELECT * FROM player_games").pl()
            rec = con.sql("SELECT * FROM player_reconciliation").pl()
        return player_summary(games, rec, game_id=game_id, player_id=player_id)
