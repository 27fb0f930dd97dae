"""Named queries: the `queries/*.sql` files, one reading statement each, that the lake catalog
(`lake.catalog.connect`) turns into views named for their file stems. A file starts with a
`--` comment saying what it gives (`describe_query`); a query may read another query's view.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from rugslab.errors import ConfigError, QueryError
from rugslab.lake.readonly import check_read_only

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


#: A named query's view name: its file stem, a plain SQL identifier.
_VIEW_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def named_queries(queries_dir: Path | None = None) -> dict[str, str]:
    """Named queries: view name (file stem) → SQL text, from `queries_dir` (default:
    `queries_folder()`); empty when there is no such folder.

    Raises:
        ConfigError: `$RUGSLAB_QUERIES` is set but is not a folder.
        QueryError: a query file cannot be read as UTF-8 text (the message names it).
    """
    return {p.stem: text for p, text in query_files(queries_dir).items()}


def query_files(queries_dir: Path | None) -> dict[Path, str]:
    """The named query files of `queries_dir` (default: `queries_folder()`): path → text.

    Raises:
        ConfigError, QueryError: as `named_queries`.
    """
    folder = queries_folder() if queries_dir is None else Path(queries_dir)
    if folder is None or not folder.is_dir():
        return {}
    out = {}
    for p in sorted(folder.glob("*.sql")):
        try:
            out[p] = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise QueryError(
                f"named query file {p} cannot be read ({e}); fix or remove it.", sql=None
            ) from e
    return out


def describe_query(sql: str) -> str:
    """The leading `--` comment of a named query, as one line ('' when there is none)."""
    lines = []
    for line in sql.splitlines():
        s = line.strip()
        if not s.startswith("--"):
            break
        lines.append(s.lstrip("-").strip())
    return " ".join(x for x in lines if x)


def create_query_views(con: duckdb.DuckDBPyConnection, files: dict[Path, str]) -> None:
    """One view per named query file, each checked to be one plain read first.

    Raises:
        QueryError: a file's name is not an SQL identifier, its text is not exactly one
            reading statement, or it does not run against the views; the message names the
            file and the fix.
    """
    pending: dict[str, tuple[Path, str]] = {}
    for path, sql in files.items():
        if not _VIEW_NAME.match(path.stem):
            raise QueryError(
                f"named query file {path}: {path.stem!r} is not a view name; rename the file "
                "to letters, digits and underscores (e.g. games_per_day.sql).",
                sql=sql,
            )
        try:
            check_read_only(sql)
        except QueryError as e:
            raise QueryError(
                f"named query file {path}: {e} Fix the file (one SELECT statement) or move it "
                "out of the queries folder.",
                sql=sql,
            ) from e
        pending[path.stem] = (path, duckdb.extract_statements(sql)[0].query)
    # a named query may read another: create in rounds until no view can be added
    errors: dict[str, str] = {}
    while pending:
        progressed = False
        for name, (_, body) in list(pending.items()):
            try:
                con.execute(f'CREATE VIEW "{name}" AS {body}')
            except duckdb.Error as e:
                errors[name] = str(e)
                continue
            del pending[name]
            progressed = True
        if not progressed:
            name, (path, body) = next(iter(pending.items()))
            raise QueryError(
                f"named query {name!r} ({path}) does not run: {errors[name]} Fix the file or "
                "move it out of the queries folder.",
                sql=body,
            )
