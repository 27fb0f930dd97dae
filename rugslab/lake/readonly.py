"""The read-only statement check of the lake catalog: one plain read, or a `QueryError`.

    check_read_only("SELECT * FROM games_per_day")      # passes
    check_read_only("EXPLAIN ANALYZE COPY games TO 'x'")  # QueryError: refused EXPLAIN ANALYZE

Accepted, exactly one statement of:
    - SELECT / WITH / FROM / VALUES / DESCRIBE / SHOW / SUMMARIZE (DuckDB's SELECT kind), whose
      parse tree (`json_serialize_sql`) calls no table function outside `READ_TABLE_FUNCTIONS`,
      no scalar function in `WRITE_FUNCTIONS`, and names no file as a table (`FROM 'x.csv'`);
    - EXPLAIN of such a statement (not EXPLAIN ANALYZE, which runs its statement);
    - PRAGMA of a catalog listing in `READ_PRAGMAS` (`PRAGMA table_info('games')`).
Everything else is refused with a message naming the statement kind and the fix: COPY, EXPORT /
IMPORT DATABASE, ATTACH / DETACH / USE, CREATE (tables, views, macros, secrets) / ALTER / DROP,
INSERT / UPDATE / DELETE / MERGE, SET / RESET, INSTALL / LOAD, CALL, CHECKPOINT, VACUUM /
ANALYZE, PREPARE / EXECUTE, BEGIN / COMMIT, and `query()` / `checkpoint()` / `read_csv()`
style table functions. The check is the first line of defence; the catalog's engine settings
(`rugslab.lake.catalog` docstring) are the second.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import duckdb

from rugslab.errors import QueryError

#: PRAGMAs that list the catalog (`PRAGMA name` or `PRAGMA name(...)`).
READ_PRAGMAS = frozenset(
    {"table_info", "show", "show_tables", "show_tables_expanded", "version", "database_list",
     "functions", "platform", "storage_info", "database_size", "collations", "user_agent"}
)
#: Table functions a read may call: generators and the catalog's own listings. Any other
#: (read_csv, read_parquet, glob, query, checkpoint, enable_logging, ...) reads files, runs
#: SQL text the check cannot see, or changes state.
READ_TABLE_FUNCTIONS = frozenset(
    {"range", "generate_series", "unnest", "repeat", "repeat_row", "json_each", "json_tree",
     "summary", "histogram", "histogram_values", "test_all_types", "test_vector_types",
     "icu_calendar_names", "pg_timezone_names", "duckdb_columns", "duckdb_constraints",
     "duckdb_databases", "duckdb_dependencies", "duckdb_functions", "duckdb_indexes",
     "duckdb_keywords", "duckdb_optimizers", "duckdb_schemas", "duckdb_sequences",
     "duckdb_settings", "duckdb_tables", "duckdb_types", "duckdb_views", "duckdb_memory",
     "duckdb_temporary_files", "duckdb_variables"}
    | {f"pragma_{p}" for p in READ_PRAGMAS}
)
#: Scalar functions with side effects (a log line, a sequence's state).
WRITE_FUNCTIONS = frozenset({"write_log", "nextval", "setval"})

_FIX = (
    "the lake catalog is read-only: give one SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, "
    "SUMMARIZE or EXPLAIN (without ANALYZE) statement over its views (the lake is written "
    "only by `rugslab ingest` and `rugslab collect`)."
)
# json_serialize_sql only parses (it never binds or runs), so one private connection serves
# every check; a lock because a DuckDB connection is not safe across threads
_parser_lock = threading.Lock()
_parser: duckdb.DuckDBPyConnection | None = None


def check_read_only(sql: str) -> None:
    """Raise `QueryError` unless `sql` is exactly one plain read (module docstring).

    Raises:
        QueryError: `sql` does not parse, is empty, holds several statements, or its statement
            could write or read outside the catalog; the message names the statement kind
            (or function) and the fix.
    """
    statement = _one_statement(sql)
    kind = _kind(statement)
    if kind == "SELECT":
        _check_select(statement.query, sql)
    elif kind == "EXPLAIN":
        _check_explain(statement.query, sql)
    elif kind == "PRAGMA":
        _check_pragma(statement.query, sql)
    elif kind == "MULTI":
        # DuckDB runs a PIVOT without an IN list as several statements (it creates a type)
        raise QueryError(
            "refused PIVOT without IN values: DuckDB runs it as several statements, one of "
            "which creates a type; list the values (PIVOT games ON version IN ('v3') ...).",
            sql=sql,
        )
    else:
        raise QueryError(f"refused {kind} statement: {_FIX}", sql=sql)


def _one_statement(sql: str) -> Any:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryError(f"SQL does not parse: {e}", sql=sql) from e
    if not statements:
        raise QueryError("SQL is empty: give one SELECT statement.", sql=sql)
    if len(statements) > 1:
        kinds = ", ".join(_kind(s) for s in statements)
        raise QueryError(
            f"refused {len(statements)} statements ({kinds}) in one query: run exactly one; "
            + _FIX,
            sql=sql,
        )
    return statements[0]


def _kind(statement: Any) -> str:
    return str(statement.type).rsplit(".", 1)[-1]


def _tokens(text: str) -> list[tuple[int, str]]:
    """`text`'s tokens as (offset, text as written), comments left out."""
    found = duckdb.tokenize(text)
    out = []
    for i, (pos, kind) in enumerate(found):
        end = found[i + 1][0] if i + 1 < len(found) else len(text)
        if kind != duckdb.token_type.comment:
            out.append((pos, text[pos:end].strip()))
    return out


def _check_explain(text: str, sql: str) -> None:
    tokens = _tokens(text)  # EXPLAIN [ANALYZE] [(option, ...)] statement
    words = [w.upper() for _, w in tokens]
    i, options = 1, []
    if i < len(words) and words[i] in ("ANALYZE", "ANALYSE"):
        options.append(words[i])
        i += 1
    if i < len(words) and words[i] == "(":
        depth = 0
        for j in range(i, len(words)):
            depth += {"(": 1, ")": -1}.get(words[j], 0)
            options.append(words[j])
            if depth == 0:
                i = j + 1
                break
    if {"ANALYZE", "ANALYSE"} & set(options):
        raise QueryError(
            "refused EXPLAIN ANALYZE: it runs the statement it explains; use EXPLAIN without "
            "ANALYZE (the plan only), or run the SELECT itself.",
            sql=sql,
        )
    if i >= len(tokens):
        raise QueryError(f"refused EXPLAIN without a statement: {_FIX}", sql=sql)
    inner = _one_statement(text[tokens[i][0]:])
    kind = _kind(inner)
    if kind != "SELECT":
        raise QueryError(f"refused EXPLAIN of a {kind} statement: {_FIX}", sql=sql)
    _check_select(inner.query, sql)


def _check_pragma(text: str, sql: str) -> None:
    words = [w for _, w in _tokens(text)]
    head = words[0].upper() if words else ""
    name = words[1].lower() if len(words) > 1 else ""
    # IMPORT DATABASE is a PRAGMA to DuckDB; `PRAGMA x = v` sets an option
    if head != "PRAGMA" or name not in READ_PRAGMAS or (len(words) > 2 and words[2] != "("):
        what = f"PRAGMA {name}" if head == "PRAGMA" else " ".join(words[:2]).upper()
        raise QueryError(
            f"refused {what} statement: the catalog allows only the listing PRAGMAs "
            f"({', '.join(sorted(READ_PRAGMAS))}); {_FIX}",
            sql=sql,
        )


def _check_select(text: str, sql: str) -> None:
    tree = _parse_tree(text)
    if tree.get("error"):
        raise QueryError(
            f"cannot check this statement ({tree.get('error_message', 'unknown error')}): "
            + _FIX,
            sql=sql,
        )
    for kind, name in _names(tree):
        if kind == "table function" and name.lower() not in READ_TABLE_FUNCTIONS:
            raise QueryError(f"refused table function {name}(): {_why(name)}; {_FIX}", sql=sql)
        if kind == "function" and name.lower() in WRITE_FUNCTIONS:
            raise QueryError(f"refused function {name}(): it changes state; {_FIX}", sql=sql)
        if kind == "table" and ("/" in name or "." in name or ":" in name):
            raise QueryError(
                f"refused reading the file {name!r}: the catalog reads only the lake's views "
                f"(tables and named queries); {_FIX}",
                sql=sql,
            )


def _why(table_function: str) -> str:
    name = table_function.lower()
    if name in ("query", "query_table", "json_execute_serialized_sql"):
        return "it runs SQL text that the check cannot see"
    if name.startswith(("read_", "parquet_", "glob", "sniff_")) or name.endswith("_scan"):
        return "it reads files, and the catalog reads only the lake's views"
    return "it is not one of the catalog's reading table functions (it may change state)"


def _parse_tree(text: str) -> dict[str, Any]:
    global _parser
    with _parser_lock:
        if _parser is None:
            con = duckdb.connect(":memory:")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            _parser = con
        row = _parser.execute("SELECT json_serialize_sql(?)", [text]).fetchone()
    assert row is not None
    tree: dict[str, Any] = json.loads(row[0])
    return tree


def _names(node: Any) -> Iterator[tuple[str, str]]:
    """(kind, name) of every table function, function and base table in a parse tree."""
    if isinstance(node, list):
        for item in node:
            yield from _names(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "TABLE_FUNCTION" and isinstance(node.get("function"), dict):
        fn = node["function"]
        yield "table function", str(fn.get("function_name", ""))
        yield from _names(fn.get("arguments", []))
        yield from _names({k: v for k, v in node.items() if k != "function"})
        return
    if node.get("class") == "FUNCTION" and "function_name" in node:
        yield "function", str(node["function_name"])
    if node.get("type") == "BASE_TABLE" and "table_name" in node:
        yield "table", str(node["table_name"])
    for value in node.values():
        yield from _names(value)
