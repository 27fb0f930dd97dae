"""The lake catalog: an in-memory DuckDB with one view per table and per named query.

    con = connect(Path("lake"))
    con.sql("SELECT * FROM games_per_day").pl()

Table views read the table's visible files (`layout.data_files`: `<lake>/<table>/*/*.parquet`
less those superseded by compaction, listed when the connection is made) with hive
partitioning, so every view has the table's columns plus `date` (DATE, from the folder
name). A table with no files yet gets an empty view with the same columns, so queries run
on a fresh lake. Named queries are the `queries/*.sql` files (one SELECT each, with a
leading `--` comment saying what it gives); view name = file stem.

Read-only connections (the default) refuse statements other than SELECT / WITH / FROM /
VALUES / DESCRIBE / SHOW / SUMMARIZE / EXPLAIN and a few catalog PRAGMAs (`QueryError`), and
DuckDB's file access is limited to the lake folder with the configuration locked, so a query
can neither write nor read files outside the lake.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import polars as pl

from rugslab.errors import ConfigError, LakeError, QueryError
from rugslab.lake import layout
from rugslab.schemas import TABLES

#: `queries/` of the repository (the package's parent folder: an editable install).
QUERIES_DIR = Path(__file__).resolve().parents[2] / "queries"
#: Environment variable naming another folder of named queries.
QUERIES_ENV = "RUGSLAB_QUERIES"


def queries_folder() -> Path | None:
    """Where named queries are read from: `$RUGSLAB_QUERIES`, else the repository's
    `queries/` (editable install), else `./queries`; None when none of them exists.

    Raises:
        ConfigError: `$RUGSLAB_QUERIES` is set but is not a folder.
    """
    env = os.environ.get(QUERIES_ENV)
    if env:
        if not Path(env).is_dir():
            raise ConfigError(
                f"{QUERIES_ENV}={env!r} is not a folder; point it at a folder of *.sql files "
                "or unset it."
            )
        return Path(env)
    for folder in (QUERIES_DIR, Path.cwd() / "queries"):
        if folder.is_dir():
            return folder
    return None

_DUCK_TYPES: dict[type[pl.DataType], str] = {
    pl.String: "VARCHAR",
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
    pl.Datetime: "TIMESTAMPTZ",
}
_READ_PRAGMAS = frozenset(
    {"table_info", "show", "show_tables", "show_tables_expanded", "version", "database_list",
     "functions", "platform", "storage_info", "database_size"}
)
_READ_TYPES = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
_PRAGMA_NAME = re.compile(r"^\s*pragma\s+([a-z_]+)", re.IGNORECASE)


def _duck_type(dtype: pl.DataType) -> str:
    return _DUCK_TYPES[dtype.base_type()]


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _table_view_sql(lake: Path, table: str) -> str:
    schema = TABLES[table].polars_schema
    files = layout.data_files(lake, table)
    if files:
        # an explicit list, not a glob: files superseded by compaction stay invisible
        listed = ", ".join(_sql_str(str(f.resolve())) for f in files)
        return (
            f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "
            "union_by_name = true, hive_types = {'date': DATE})"
        )
    cols = ", ".join(f"CAST(NULL AS {_duck_type(t)}) AS {c}" for c, t in schema.items())
    return f"SELECT {cols}, CAST(NULL AS DATE) AS date WHERE false"


def named_queries(queries_dir: Path | None = None) -> dict[str, str]:
    """Named queries: view name (file stem) → SQL text, from `queries_dir` (default:
    `queries_folder()`); empty when there is no such folder."""
    folder = queries_folder() if queries_dir is None else Path(queries_dir)
    if folder is None or not folder.is_dir():
        return {}
    return {p.stem: p.read_text() for p in sorted(folder.glob("*.sql"))}


def describe_query(sql: str) -> str:
    """The leading `--` comment of a named query, as one line ('' when there is none)."""
    lines = []
    for line in sql.splitlines():
        s = line.strip()
        if not s.startswith("--"):
            break
        lines.append(s.lstrip("-").strip())
    return " ".join(x for x in lines if x)


def check_read_only(sql: str) -> None:
    """Raise `QueryError` unless every statement in `sql` only reads.

    Raises:
        QueryError: `sql` does not parse, is empty, or holds a statement that could change
            state (CREATE, INSERT, COPY, ATTACH, SET, INSTALL, ...); the message names it.
    """
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryError(f"SQL does not parse: {e}", sql=sql) from e
    if not statements:
        raise QueryError("SQL is empty: give one SELECT statement.", sql=sql)
    for st in statements:
        if st.type in _READ_TYPES:
            continue
        if st.type == duckdb.StatementType.PRAGMA:
            m = _PRAGMA_NAME.match(st.query)
            if m and m.group(1).lower() in _READ_PRAGMAS:
                continue
        kind = str(st.type).rsplit(".", 1)[-1]
        raise QueryError(
            f"refused {kind} statement: the lake catalog is read-only; use SELECT, WITH, "
            "DESCRIBE, SHOW, SUMMARIZE or EXPLAIN (the lake is written only by `rugslab ingest`).",
            sql=sql,
        )


class ReadOnlyConnection:
    """A DuckDB connection that runs only reading statements (`check_read_only`).

    `sql`/`execute`/`query` check the statement first; everything else (`.close`, `.pl`
    of results, ...) is the underlying `duckdb.DuckDBPyConnection`'s.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def sql(self, query: str, *, params: object = None) -> duckdb.DuckDBPyRelation:
        """Run `query` (reading statements only) and return its relation.

        Raises:
            QueryError: the statement is refused, or DuckDB rejects it (the message is DuckDB's).
        """
        check_read_only(query)
        try:
            return self._con.sql(query, params=params)
        except duckdb.Error as e:
            raise QueryError(f"query failed: {e}", sql=query) from e

    query = sql

    def execute(self, query: str, parameters: object = None) -> duckdb.DuckDBPyConnection:
        """Like `sql`, DuckDB's `execute` (with parameters) for reading statements only."""
        check_read_only(query)
        try:
            return self._con.execute(query, parameters)
        except duckdb.Error as e:
            raise QueryError(f"query failed: {e}", sql=query) from e

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)

    def __enter__(self) -> ReadOnlyConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._con.close()


def connect(
    lake: Path | str, *, read_only: bool = True, queries_dir: Path | None = None
) -> ReadOnlyConnection | duckdb.DuckDBPyConnection:
    """An in-memory DuckDB over the lake: a view per table and per named query.

    Args:
        lake: lake root folder; must exist (an empty lake is fine).
        read_only: refuse writing statements and limit file access to the lake (default).
            With False, a plain writable connection (e.g. for temporary tables).
        queries_dir: folder of named queries (default: `queries_folder()`).

    Returns:
        A `ReadOnlyConnection` (read_only) or a `duckdb.DuckDBPyConnection`; `TimeZone` is UTC.

    Raises:
        LakeError: `lake` is not a folder (the message suggests `rugslab ingest`).
        QueryError: a named query fails to bind against the lake's views.
    """
    lake = Path(lake)
    if not lake.is_dir():
        raise LakeError(
            f"no lake at {lake}: run `rugslab ingest --lake {lake} PATH...` first, or point "
            "--lake / RUGSLAB_LAKE at an existing lake.",
            path=lake,
        )
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        for t in TABLES:
            con.execute(f"CREATE VIEW {t} AS {_table_view_sql(lake, t)}")
        _create_query_views(con, named_queries(queries_dir))
        if read_only:
            root = str(lake.resolve()) + "/"
            con.execute(f"SET allowed_directories = [{_sql_str(root)}]")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
    except duckdb.Error as e:
        con.close()
        raise LakeError(f"cannot open the lake catalog at {lake}: {e}", path=lake) from e
    except BaseException:
        con.close()
        raise
    return ReadOnlyConnection(con) if read_only else con


def _create_query_views(con: duckdb.DuckDBPyConnection, queries: dict[str, str]) -> None:
    # a named query may read another: create in rounds until no view can be added
    pending = dict(queries)
    errors: dict[str, str] = {}
    while pending:
        progressed = False
        for name, sql in list(pending.items()):
            body = sql.strip().rstrip(";")
            try:
                con.execute(f"CREATE VIEW {name} AS {body}")
            except duckdb.Error as e:
                errors[name] = str(e)
                continue
            del pending[name]
            progressed = True
        if not progressed:
            name = next(iter(pending))
            raise QueryError(
                f"named query {name!r} does not run: {errors[name]}", sql=pending[name]
            )


def read_table(name: str, lake: Path | str) -> pl.DataFrame:
    """All rows of lake table (or named query) `name` as a polars frame, with `date`.

    Raises:
        LakeError: no lake at `lake`.
        QueryError: `name` is neither a lake table nor a named query.
    """
    with connect(lake) as con:
        listed = con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        views = {r[0] for r in listed}
        if name not in views:
            raise QueryError(
                f"unknown table or query {name!r}; expected one of {sorted(views)}", sql=name
            )
        return con.sql(f'SELECT * FROM "{name}"').pl()
