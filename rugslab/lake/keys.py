"""Row keys of append writes: which rows of a batch are new to a partition, which lake rows
a batch could collide with, and which colliding rows disagree with the lake.

Used by `rugslab.lake.writer` (the append tables of `schemas.TABLES`).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from rugslab.lake import layout
from rugslab.readers.clock import MAX_OFFSET_US, MIN_OFFSET_US

#: How far apart the receive times of one capture frame read under two zone decisions can be
#: (its id hashes its stamp as written, `feed.frames.Frame.frame_id`); the readers give one
#: recording one zone (`readers.clock`), so this only keeps the key check exact without it.
ZONE_SPREAD = timedelta(microseconds=MAX_OFFSET_US - MIN_OFFSET_US)


def first_per_key(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """`frame` with the first row of each key (the frame itself when keys are distinct)."""
    dup = pl.struct(key).is_duplicated() if len(key) > 1 else pl.col(key[0]).is_duplicated()
    if not frame.select(dup.any()).item():
        return frame
    return frame.unique(subset=key, keep="first", maintain_order=True)


def not_in(part: pl.DataFrame, existing: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """The rows of `part` whose key is not in `existing` (null keys compare equal)."""
    if existing.height == 0:
        return part
    # the anti-join runs on the key columns only; the rows (raw frames: ~6 KB each) are
    # copied only when some must go
    keep = (
        part.select(key).with_row_index("__row")
        .join(existing, on=key, how="anti", nulls_equal=True)["__row"]
    )
    return part if keep.len() == part.height else part[keep.sort()]


def in_row_order(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """`frame` sorted by `layout.row_order(table)` (not copied when already in order)."""
    by = layout.row_order(table)
    order = frame.select(pl.arg_sort_by(by, nulls_last=True, maintain_order=True)).to_series()
    if frame.select((order == pl.int_range(pl.len(), dtype=pl.get_index_type())).all()).item():
        return frame
    return frame[order]


def may_match(table: str, part: pl.DataFrame) -> pl.Expr | None:
    """A filter that keeps every lake row whose key could be one of `part`'s keys (it may keep
    more: the anti-join stays exact), so a write reads the keys it could collide with, not
    the whole partition; None: read every key.

    raw_events: `frame_id` hashes (session_id, seq) when both are set, else (event, stamp,
    args) (`feed.frames.Frame.frame_id`; the stamp is the recv_ts, or for a local-clock capture
    the stamp as written, which its recv_ts is under some zone), so an equal id means an
    equal (session_id, seq), or a recv_ts less than the zones' spread apart (`ZONE_SPREAD`,
    26 h), or both null. Files are in receive order: their recv_ts and seq statistics rule
    most files out. ticks: the key holds game_id.
    """
    if table == "ticks":
        return pl.col("game_id").is_in(part["game_id"].unique().to_list())
    if table != "raw_events":
        return None
    sid, seq, ts = pl.col("session_id"), pl.col("seq"), pl.col("recv_ts")
    by_session = sid.is_not_null() & seq.is_not_null()
    mine = part.select(
        sessions=pl.col("session_id").filter(by_session).unique().implode(),
        seq_lo=pl.col("seq").filter(by_session).min(),
        seq_hi=pl.col("seq").filter(by_session).max(),
        ts_lo=pl.col("recv_ts").filter(~by_session).min(),
        ts_hi=pl.col("recv_ts").filter(~by_session).max(),
        ts_null=(~by_session & pl.col("recv_ts").is_null()).any(),
    ).row(0, named=True)
    keep = pl.lit(False)
    if mine["sessions"]:
        keep = keep | (by_session & sid.is_in(mine["sessions"])
                       & seq.is_between(mine["seq_lo"], mine["seq_hi"]))
    if mine["ts_lo"] is not None:
        keep = keep | (~by_session & ts.is_between(mine["ts_lo"] - ZONE_SPREAD,
                                                   mine["ts_hi"] + ZONE_SPREAD))
    if mine["ts_null"]:
        keep = keep | (~by_session & ts.is_null())
    return keep


#: Append tables whose rows, when their key is already in the lake, are compared on these
#: columns: a difference is counted (`TableReport.conflicts`); the first-written row stays.
COMPARED: dict[str, tuple[str, ...]] = {"ticks": ("price_x",)}


def count_conflicts(
    part: pl.DataFrame, existing: pl.DataFrame, key: list[str], compared: tuple[str, ...]
) -> int:
    """Rows of `part` whose key is in `existing` with other values in the `compared` columns
    (`existing` holds the key and `compared` columns of the lake's rows; null equals null)."""
    both = part.select(*key, *compared).join(existing, on=key, how="inner", nulls_equal=True,
                                             suffix="__lake")
    differs = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}__lake")) for c in compared)
    return both.filter(differs).height
