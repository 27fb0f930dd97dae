"""The lake catalog: an in-memory DuckDB with one view per table and per named query.

    con = connect(Path("lake"))
    con.sql("SELECT * FROM games_per_day").pl()

Table views read the data files of one Delta version of each table (`lake.snapshot`: the
latest, or the latest at or before `as_of`; listed from the table's log when the connection is
made, so the connection sees that version for its whole life whatever writers commit
meanwhile) with hive partitioning, so every view has the table's columns plus `date` (DATE,
the partition). A table with no files yet gets an empty view with the same columns, so
queries run on a fresh lake. `ReadOnlyConnection.snapshot` tells which versions were read.
Named queries are the `queries/*.sql` files (one SELECT each, with a leading `--` comment
saying what it gives); view name = file stem.

What holds for a read-only connection (the default), and at which level:

- Statement check (`rugslab.lake.readonly.check_read_only`), before DuckDB sees the text:
  `sql`/`execute` and every named query file run only when they are exactly one plain read
  (SELECT / WITH / FROM / VALUES / DESCRIBE / SHOW / SUMMARIZE, EXPLAIN without ANALYZE of
  one, a listing PRAGMA); COPY, EXPORT, ATTACH, CREATE ... AS, INSTALL / LOAD, SET / RESET,
  CALL, EXPLAIN ANALYZE of anything, file-reading and state-changing table functions, ... are
  refused with a `QueryError`.
- Engine, set right after `duckdb.connect` and before any SQL from the lake, the user or a
  named query runs: `allowed_paths` = exactly the visible lake files listed for the views,
  `enable_external_access = false`, extension auto-install/auto-load off, then
  `lock_configuration = true` (no SET / RESET / PRAGMA can undo it). So even a statement past
  the check (tested by calling the DuckDB connection directly) cannot read any other file,
  create a file anywhere (COPY, EXPORT DATABASE, ATTACH, INSTALL, persistent secrets), or
  write over a lake file through COPY's default temporary-file-and-rename. One write remains
  open at this level: `COPY ... TO '<a listed lake file>' (USE_TMP_FILE false)` (DuckDB's
  allowed paths do not tell reads from writes); only the statement check stops it.
- Not possible: DuckDB's `access_mode = READ_ONLY` (an in-memory database cannot be opened
  read-only). The in-memory catalog itself could be changed by a statement past the check,
  but it belongs to this one connection and holds no lake data.

Views over registered `pyarrow.dataset`s would need no file access at all (closing the
USE_TMP_FILE gap), but measured 1.1-1.7x slower on `tick_intervals` and 1.4-9x slower on
string-column scans of a 9.6M-tick lake, so the views read Parquet directly.
The guarantees are about SQL text (`rugslab sql`, `--file`, named query files, `Lab.sql`).
Python code is trusted as any Python code is: a `ReadOnlyConnection` hands out only checked
entry points and reading methods, but a relation it returns is DuckDB's own
(`rel.to_parquet(path)` writes wherever the engine settings above allow).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from rugslab.errors import ConfigError, LakeError, QueryError
from rugslab.lake import layout
from rugslab.lake.queries import (
    QUERIES_DIR,
    QUERIES_ENV,
    create_query_views,
    describe_query,
    named_queries,
    queries_folder,
    query_files,
)
from rugslab.lake.readonly import check_read_only
from rugslab.lake.snapshot import LakeSnapshot, lake_snapshot
from rugslab.lake.sql_text import sql_str
from rugslab.tables.schemas import TABLES

__all__ = ["QUERIES_DIR", "QUERIES_ENV", "ReadOnlyConnection", "check_read_only", "connect",
           "describe_query", "named_queries", "queries_folder", "query_failed", "read_table"]

_DUCK_TYPES: dict[type[pl.DataType], str] = {
    pl.String: "VARCHAR",
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
    pl.Datetime: "TIMESTAMPTZ",
}
#: DuckDB's memory cap per connection (`SET memory_limit`; past it, sorts, joins and windows
#: spill to a temporary folder of the connection's own): `$RUGSLAB_DUCKDB_MEMORY` (e.g. 4GB),
#: default this. DuckDB's own default, 80% of RAM, let a year's `tick_intervals` reach 7 GB
#: of RSS; capped at 2GB it ran in 1.3-3.3 GB and no slower than the sort-bound 40 s before
#: (bench/README, bench/year.py).
DEFAULT_DUCKDB_MEMORY = "2GB"
_MEMORY_SIZE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)
#: Settings applied before anything else runs on a read-only connection; `allowed_paths` is
#: set first (DuckDB refuses to change it once external access is off).
_LOCKDOWN = (
    "SET enable_external_access = false",
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET lock_configuration = true",
)
#: What a `ReadOnlyConnection` passes through to DuckDB besides `sql`/`execute`: reading and
#: closing (not `cursor`, `executemany`, `register`, `install_extension`, ...: they skip the
#: statement check).
_PASS_THROUGH = frozenset(
    {"close", "table", "view", "description", "rowcount", "fetchall", "fetchone", "fetchmany",
     "fetchdf", "fetch_df", "df", "pl", "arrow", "fetch_arrow_table", "fetchnumpy", "interrupt"}
)


def _duck_type(dtype: pl.DataType) -> str:
    return _DUCK_TYPES[dtype.base_type()]


def _table_view_sql(table: str, files: list[str]) -> str:
    schema = TABLES[table].polars_schema
    if files:
        # an explicit list, not a glob: the files of one Delta version, nothing else
        listed = ", ".join(sql_str(f) for f in files)
        return (
            f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "
            "union_by_name = true, hive_types = {'date': DATE})"
        )
    cols = ", ".join(f"CAST(NULL AS {_duck_type(t)}) AS {c}" for c, t in schema.items())
    return f"SELECT {cols}, CAST(NULL AS DATE) AS date WHERE false"


def query_failed(e: Exception, sql: str) -> QueryError:
    """The `QueryError` for DuckDB's error `e` running `sql`: DuckDB's message, plus what the
    catalog allows when DuckDB refused a file (its engine-level lockdown), or what to change
    when the query ran out of memory (DuckDB's own advice, SET ..., is locked here).

    Raises:
        KeyboardInterrupt: DuckDB stopped the query for a SIGINT (an interrupt, not a failed
            query: the CLI exits 130).
    """
    # duckdb-python turns a SIGINT during a query into RuntimeError("Query interrupted");
    # `con.interrupt()` into InterruptException
    if isinstance(e, duckdb.InterruptException) or (
            type(e) is RuntimeError and str(e) == "Query interrupted"):
        raise KeyboardInterrupt("query interrupted") from e
    message = f"query failed: {e}"
    if isinstance(e, duckdb.OutOfMemoryException):
        message += (
            f" (rugslab lets DuckDB use {duckdb_memory_limit()} and spill to "
            f"{tempfile.gettempdir()}: raise RUGSLAB_DUCKDB_MEMORY, free space there or point "
            "TMPDIR at a bigger disk; SET and PRAGMA are not allowed on lake connections)"
        )
    if isinstance(e, duckdb.PermissionException) or "Permission Error" in str(e):
        message += (
            " (the lake catalog reads only the lake's views, tables and named queries; it "
            "reads and writes no other file)"
        )
    return QueryError(message, sql=sql)


class ReadOnlyConnection:
    """A DuckDB connection that runs only reading statements (`check_read_only`).

    `sql`/`execute`/`query` check the statement first; reading and closing (`.close`, `.pl`,
    `.fetchall`, `.table`, ... of `_PASS_THROUGH`) are the underlying
    `duckdb.DuckDBPyConnection`'s; other attributes (`cursor`, `executemany`, `register`, ...)
    raise AttributeError, as they would skip the check.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, snapshot: LakeSnapshot) -> None:
        self._con = con
        #: The table versions the views read (`lake.snapshot.LakeSnapshot`).
        self.snapshot = snapshot

    def sql(self, query: str, *, params: object = None) -> duckdb.DuckDBPyRelation:
        """Run `query` (reading statements only) and return its relation.

        Raises:
            QueryError: the statement is refused, or DuckDB rejects it (the message is DuckDB's).
        """
        check_read_only(query)
        try:
            return self._con.sql(query, params=params)
        except duckdb.Error as e:
            raise query_failed(e, query) from e

    query = sql

    def execute(self, query: str, parameters: object = None) -> duckdb.DuckDBPyConnection:
        """Like `sql`, DuckDB's `execute` (with parameters) for reading statements only."""
        check_read_only(query)
        try:
            return self._con.execute(query, parameters)
        except duckdb.Error as e:
            raise query_failed(e, query) from e

    def __getattr__(self, name: str) -> object:
        if name not in _PASS_THROUGH:
            raise AttributeError(
                f"ReadOnlyConnection has no {name!r}: it runs reading statements through "
                "`sql`/`execute` only; use connect(lake, read_only=False) for a plain DuckDB "
                "connection."
            )
        return getattr(self._con, name)

    def __enter__(self) -> ReadOnlyConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._con.close()


def duckdb_memory_limit(env: Mapping[str, str] | None = None) -> str:
    """DuckDB's `memory_limit` for lake connections: `$RUGSLAB_DUCKDB_MEMORY`, else
    `DEFAULT_DUCKDB_MEMORY`.

    Raises:
        ConfigError: the variable is set but is not a size such as 512MB or 4GB.
    """
    raw = (os.environ if env is None else env).get("RUGSLAB_DUCKDB_MEMORY", "").strip()
    if not raw:
        return DEFAULT_DUCKDB_MEMORY
    if not _MEMORY_SIZE.match(raw):
        raise ConfigError(f"Invalid RUGSLAB_DUCKDB_MEMORY {raw!r}: expected a size such as "
                          f"512MB or 4GB (DuckDB's memory_limit); unset it for the default "
                          f"{DEFAULT_DUCKDB_MEMORY}.")
    return raw


_SPILL_PREFIX = "rugslab-duckdb-"


def _spill_folder() -> Path:
    """A spill folder of this connection's own under the temporary folder (DuckDB makes it
    when it first spills and removes it on close): two processes never share temporary
    files, and a read-only working folder does not stop a spill. The folders of processes
    that died without closing (SIGTERM, kill -9) are removed first: their name carries the
    pid, and a pid no process has can write no more."""
    root = Path(tempfile.gettempdir())
    try:
        stale = [p for p in root.glob(f"{_SPILL_PREFIX}*-*") if not _pid_alive(p.name)]
    except OSError:
        stale = []
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return root / f"{_SPILL_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(name: str) -> bool:
    """Whether the process named in spill folder `name` may still run (unknown: True)."""
    pid = name[len(_SPILL_PREFIX):].split("-", 1)[0]
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, or no permission to ask: leave it
        return True
    return True


def connect(
    lake: Path | str,
    *,
    read_only: bool = True,
    queries_dir: Path | None = None,
    as_of: datetime | None = None,
    snapshot: LakeSnapshot | None = None,
) -> ReadOnlyConnection | duckdb.DuckDBPyConnection:
    """An in-memory DuckDB over the lake: a view per table and per named query.

    Args:
        lake: lake root folder; must exist (an empty lake is fine).
        read_only: refuse every statement but one plain read, and lock DuckDB's file access
            to the lake files the views read (default; see the module docstring). With False,
            a plain writable connection (e.g. for temporary tables); its named queries are
            checked all the same.
        queries_dir: folder of named queries (default: `queries_folder()`).
        as_of: time travel: every table at its latest version committed at or before this
            instant (a naive datetime is UTC); tables created later are empty. Default: the
            latest versions.
        snapshot: read exactly these table versions (a `lake_snapshot` taken earlier, e.g.
            the one a notebook's `Lab` pinned); overrides `as_of`.

    Returns:
        A `ReadOnlyConnection` (read_only) or a `duckdb.DuckDBPyConnection`; `TimeZone` is UTC,
        `memory_limit` is `duckdb_memory_limit()` (more spills to a temporary folder).

    Raises:
        LakeError: `lake` is not a folder (the message suggests `rugslab ingest`), a table
            is in the old layout (suggests `rugslab lake migrate`) or its log is corrupt, or
            the log before `as_of` was removed (names the earliest readable time).
        QueryError: a named query file is not one reading statement, or fails to bind
            against the lake's views (the message names the file).
        ConfigError: `$RUGSLAB_QUERIES` is set but is not a folder, or
            `$RUGSLAB_DUCKDB_MEMORY` is not a size (`duckdb_memory_limit`).
    """
    lake = Path(lake)
    if not lake.is_dir():
        raise LakeError(
            f"no lake at {lake}: run `rugslab ingest --lake {lake} PATH...` first, or point "
            "--lake / RUGSLAB_LAKE at an existing lake.",
            path=lake,
        )
    if snapshot is None:
        snapshot = lake_snapshot(lake, as_of=as_of)
    files = {t: [str(p.resolve()) for p, _ in snapshot.tables[t].files]
             if t in snapshot.tables else [] for t in TABLES}
    memory = duckdb_memory_limit()
    spill = _spill_folder()
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = {sql_str(memory)}")
        con.execute(f"SET temp_directory = {sql_str(str(spill))}")
        if read_only:
            # the engine lockdown comes first: nothing below, the named queries included,
            # runs on a connection that could reach a file other than these
            listed = ", ".join(sql_str(f) for fs in files.values() for f in fs)
            con.execute(f"SET allowed_paths = [{listed}]")
            for setting in _LOCKDOWN:
                con.execute(setting)
        for t in TABLES:
            con.execute(f"CREATE VIEW {t} AS {_table_view_sql(t, files[t])}")
    except duckdb.Error as e:
        con.close()
        raise LakeError(f"cannot open the lake catalog at {lake}: {e}", path=lake) from e
    try:
        create_query_views(con, query_files(queries_dir))
    except BaseException:
        con.close()
        raise
    return ReadOnlyConnection(con, snapshot) if read_only else con


def read_table(name: str, lake: Path | str, *, as_of: datetime | None = None,
               snapshot: LakeSnapshot | None = None) -> pl.DataFrame:
    """All rows of lake table (or named query) `name` as a polars frame, with `date`
    (latest versions, or as of `as_of`, or `snapshot`'s versions, as in `connect`). A
    table's rows are sorted by its key (`layout.row_order`: raw frames by receive time); a
    query's as it orders them.

    Raises:
        LakeError: no lake at `lake`.
        QueryError: `name` is neither a lake table nor a named query.
    """
    with connect(lake, as_of=as_of, snapshot=snapshot) as con:
        listed = con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        views = {r[0] for r in listed}
        if name not in views:
            raise QueryError(
                f"unknown table or query {name!r}; expected one of {sorted(views)}", sql=name
            )
        order = ""
        if name in TABLES:  # a table's files come in no particular order: sort by its key
            order = " ORDER BY " + ", ".join(f'"{c}"' for c in layout.row_order(name))
        return con.sql(f'SELECT * FROM "{name}"{order}').pl()
