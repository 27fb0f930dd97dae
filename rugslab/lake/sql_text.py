"""SQL text for the Delta MERGEs of `lake.delta_write`: quoted literals, the partition and key
conditions, and `prune_sql`, the statistics condition that lets a MERGE open only the files
that can hold a matching row.

Every value is quoted here (`sql_str` doubles single quotes); column names come from the
table schemas, never from input.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, Final

import polars as pl

from rugslab.lake.delta import PARTITION
from rugslab.lake.keys import ZONE_SPREAD
from rugslab.tables.schemas import TABLES

#: A key column with at most this many distinct values is pruned by IN (...), else BETWEEN.
MAX_IN_VALUES: Final = 64


def sql_date(day: date) -> str:
    """`DATE 'YYYY-MM-DD'`."""
    return f"DATE '{day.isoformat()}'"


def sql_str(text: str) -> str:
    """`text` as a SQL string literal (single quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def partitions_sql(days: Iterable[date], alias: str = "t") -> str:
    """`<alias>.date IN (the days)`."""
    return f"{alias}.{PARTITION} IN ({', '.join(sql_date(d) for d in sorted(set(days)))})"


def key_sql(key: Iterable[str]) -> str:
    """Target and source rows have equal key columns (`t.k = s.k AND ...`)."""
    return " AND ".join(f"t.`{k}` = s.`{k}`" for k in key)


def literal(value: Any) -> str:
    """A SQL literal of a str, a datetime (UTC, microseconds) or a number."""
    if isinstance(value, str):
        return sql_str(value)
    if isinstance(value, datetime):
        return sql_str(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return repr(value)


def values_sql(column: str, values: pl.Series) -> str:
    """`t.column` IN the values (few) or BETWEEN their min and max (many)."""
    values = values.drop_nulls()
    if values.len() == 0:
        return "FALSE"
    distinct = values.unique().sort()
    if distinct.len() <= MAX_IN_VALUES:
        return f"t.`{column}` IN ({', '.join(literal(v) for v in distinct.to_list())})"
    return f"t.`{column}` BETWEEN {literal(distinct.min())} AND {literal(distinct.max())}"


def prune_sql(table: str, rows: pl.DataFrame) -> str:
    """A condition on the target rows that every row sharing a key with `rows` meets, so the
    MERGE opens only the files whose statistics allow such rows (files of a day hold other
    games, other sessions, other minutes). It never excludes a matching row, so the merge
    stays exact.

    Each key column: its values (few) or their range. raw_events: `frame_id` is a hash of
    (session_id, seq) when both are set, else of (event, recv_ts, args)
    (`feed.frames.Frame.frame_id`; the same reasoning as `lake.keys.may_match`), so a row with an
    equal id has an equal (session_id, seq), or a recv_ts at most the zones' spread away
    (a capture read under another zone decision), or a null recv_ts.
    """
    hashed = ("frame_id",) if table == "raw_events" else ()  # a hash's range prunes nothing
    parts = [values_sql(k, rows[k]) for k in TABLES[table].key if k not in hashed]
    if table == "raw_events":
        by_session = rows["session_id"].is_not_null() & rows["seq"].is_not_null()
        mine = rows.filter(by_session)
        other = rows.filter(~by_session)
        alts = []
        if mine.height:
            alts.append(f"({values_sql('session_id', mine['session_id'])} AND "
                        f"{values_sql('seq', mine['seq'])})")
        stamps = other["recv_ts"].drop_nulls()
        if stamps.len():
            # a capture's frame read under another zone decision has the same id and a
            # recv_ts up to the zones' spread away (`lake.keys.may_match`)
            lo, hi = stamps.min() - ZONE_SPREAD, stamps.max() + ZONE_SPREAD
            alts.append(f"(t.recv_ts BETWEEN {literal(lo)} AND {literal(hi)} AND "
                        "(t.session_id IS NULL OR t.seq IS NULL))")
        if other["recv_ts"].is_null().any():
            alts.append("(t.recv_ts IS NULL AND (t.session_id IS NULL OR t.seq IS NULL))")
        parts.append("(" + " OR ".join(alts) + ")")
    return " AND ".join(parts)
