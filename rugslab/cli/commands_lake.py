"""Lake commands: `rugslab ingest` (files → lake) and `rugslab sql` (query the lake).

Thin: each parses flags, resolves `Settings`, calls one library function and prints.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from rugslab.cli import app
from rugslab.config import Settings, parse_as_of
from rugslab.errors import ConfigError, LakeError, RugslabError
from rugslab.readers.clock import parse_utc_offset

_LAKE_HELP = "Lake folder (default: $RUGSLAB_LAKE or ./lake)."


class OutputFormat(StrEnum):
    """`rugslab sql --format`: an aligned table, CSV or JSON lines."""

    table = "table"
    csv = "csv"
    json = "json"


@app.command("ingest")
def ingest_command(
    paths: list[Path] = typer.Argument(  # noqa: B008 - typer declares arguments by default value
        ..., help="Capture files, recordings or folders (searched recursively).", show_default=False
    ),
    lake: Path | None = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
    batch_frames: int | None = typer.Option(
        None, "--batch-frames",
        help="Raw frames per write (default 20,000; the other tables every 5 such writes); "
        "bounds memory.",
    ),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
    utc_offset: str | None = typer.Option(
        None, "--utc-offset",
        help="The recorder's UTC offset (e.g. -05:00) for local-clock captures whose zone "
        "cannot be inferred from chat messages; a zone the recording already has in the lake "
        "wins.",
    ),
) -> None:
    """Read capture files and legacy recordings into the Parquet lake (re-ingest adds nothing).

    Exit status 0: every file was read (bad lines are `rejects` rows, counted in the summary).

    Exit status 1: a file or folder could not be read or was cut short (the rest was ingested).

    Exit status 1 also: the lake cannot be written (read-only, disk full); re-run once fixed.

    Exit status 2: a usage error (a bad option, an input path that does not exist).
    """
    from rugslab.api import Lake

    settings = Settings.from_env().with_overrides(lake=lake, batch_frames=batch_frames)
    if settings.batch_frames <= 0:
        raise ConfigError(
            f"Invalid --batch-frames {settings.batch_frames}: expected a positive whole number."
        )
    offset_us = parse_utc_offset(utc_offset) if utc_offset is not None else None
    try:
        summary = Lake(settings.lake).ingest(
            paths,
            batch_frames=settings.batch_frames,
            progress=not no_progress,
            utc_offset_us=offset_us,
        )
    except LakeError as e:
        typer.echo(f"rugslab: error: {e}", err=True)
        raise typer.Exit(1) from e
    typer.echo(str(summary))
    if summary.files_incomplete:
        typer.echo(
            f"rugslab: {summary.files_incomplete} input(s) skipped or cut short (listed above "
            "with the reason); everything else was ingested. Exit status 1.",
            err=True,
        )
        raise typer.Exit(1)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _json_value(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v


def format_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: OutputFormat) -> str:
    """Render query results as an aligned text table, CSV (with header) or JSON (objects)."""
    if fmt is OutputFormat.csv:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        w.writerows([[("" if v is None else v) for v in r] for r in rows])
        return buf.getvalue().rstrip("\n")
    if fmt is OutputFormat.json:
        objs = [{c: _json_value(v) for c, v in zip(columns, r, strict=True)} for r in rows]
        return json.dumps(objs, indent=1, default=str)
    cells = [[_cell(v) for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    out = [line.rstrip(), "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def _require_one_statement(sql: str) -> None:
    import duckdb

    try:
        n = len(duckdb.extract_statements(sql))
    except duckdb.Error:
        return  # the catalog reports the parse error with its position
    if n > 1:
        raise ConfigError(
            f"Invalid SQL: {n} statements given; `rugslab sql` runs exactly one (it prints one "
            "result). Run them one at a time, or combine them with UNION ALL / a WITH clause."
        )


@app.command("sql")
def sql_command(
    sql: str | None = typer.Argument(
        None, help="One SELECT statement (tables and named queries are views).", show_default=False
    ),
    file: Path | None = typer.Option(  # noqa: B008
        None, "--file", "-f", help="Read the statement from this file (e.g. queries/x.sql)."
    ),
    lake: Path | None = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
    fmt: OutputFormat = typer.Option(  # noqa: B008
        OutputFormat.table, "--format", help="Output format: table, csv or json."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of",
        help="Read every table as it was at this instant (ISO 8601, UTC unless an offset is "
        "given, e.g. 2026-12-03T13:40:02Z): the time `rugslab status` or a notebook printed.",
    ),
) -> None:
    """Run a read-only SQL query on the lake (views: every table and every queries/*.sql).

    Exactly one reading statement (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE,
    EXPLAIN without ANALYZE); anything else exits 2 with the statement kind refused.
    With --as-of, each table is read at its latest version committed at or before that
    instant (tables created later are empty); the log keeps 12 hours of versions.
    """
    from rugslab.api import Lake
    from rugslab.lake.catalog import query_failed

    if (sql is None) == (file is None):
        raise ConfigError(
            "Give exactly one of the SQL argument or --file (got "
            + ("both" if sql is not None else "neither")
            + "): e.g. `rugslab sql 'SELECT * FROM games LIMIT 5'` or "
            "`rugslab sql --file queries/games_per_day.sql`."
        )
    if file is not None:
        try:
            sql = file.read_text()
        except OSError as e:
            raise ConfigError(f"Invalid --file {str(file)!r}: {e.strerror or e}.") from e
    assert sql is not None
    _require_one_statement(sql)
    when = None if as_of is None else parse_as_of(as_of)
    settings = Settings.from_env().with_overrides(lake=lake)
    with Lake(settings.lake).connect(as_of=when) as con:
        try:
            rel = con.sql(sql)
            if rel is None:
                return
            columns, rows = list(rel.columns), rel.fetchall()
        except RugslabError:
            raise
        except Exception as e:  # duckdb errors of every kind: binder, parser, IO
            raise query_failed(e, sql) from e
    sys.stdout.write(format_rows(columns, rows, fmt) + "\n")


lake_app = typer.Typer(help="Lake administration: migrate an old lake to Delta tables.",
                       no_args_is_help=True)
app.add_typer(lake_app, name="lake")


@lake_app.command("migrate")
def migrate_command(
    lake: Path | None = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
) -> None:
    """Convert a lake of the old Parquet layout to Delta tables, in place.

    Only the files rugslab's old reader showed are migrated (files superseded by compaction
    and temporary files are left out); each table's row count is checked before its folder
    is swapped. The old folders are kept in <lake>/.migrate/ until you delete them. Safe to
    run again (also after it was killed); a lake already in Delta is left alone.

    Then rejects rows with ids of an older rugslab get the current ids (one commit; the
    report says how many), so re-ingesting their input adds no second row; also on a lake
    already in Delta.
    """
    from rugslab.lake.migrate import migrate_lake

    settings = Settings.from_env().with_overrides(lake=lake)
    typer.echo(str(migrate_lake(settings.lake,
                                progress=lambda line: typer.echo(line, err=True))))
