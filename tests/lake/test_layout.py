"""Partition dates and file naming of the lake layout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from rugslab.lake import layout

GID = "20251207-e8186dbf38e046d1"


def test_partition_date_is_the_game_date_from_the_id_prefix() -> None:
    recv = datetime(2025, 12, 6, 23, 59, tzinfo=UTC)
    assert layout.partition_date(GID, recv) == "2025-12-07"


def test_partition_date_falls_back_to_the_utc_receive_date() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert layout.partition_date(None, datetime(2025, 12, 7, 1, 0, tzinfo=plus2)) == "2025-12-06"


def test_game_id_with_impossible_calendar_date_uses_the_receive_date() -> None:
    recv = datetime(2025, 12, 6, 12, 0, tzinfo=UTC)
    assert layout.partition_date("20251399-e8186dbf38e046d1", recv) == "2025-12-06"


def test_row_without_game_or_time_is_undated() -> None:
    assert layout.partition_date(None, None) == "1970-01-01"
    assert layout.partition_date("not-a-game") == "1970-01-01"


def test_partition_dates_of_a_frame_match_the_scalar_rule() -> None:
    recv = [datetime(2025, 12, 6, 23, tzinfo=UTC), datetime(2025, 12, 12, 1, tzinfo=UTC), None]
    frame = pl.DataFrame(
        {"game_id": [GID, None, None], "recv_ts": recv},
        schema={"game_id": pl.String, "recv_ts": pl.Datetime("us", "UTC")},
    )
    assert layout.partition_dates(frame).to_list() == ["2025-12-07", "2025-12-12", "1970-01-01"]


def test_data_files_skip_temporary_files(tmp_path: Path) -> None:
    folder = layout.partition_dir(tmp_path, "ticks", "2025-12-07")
    folder.mkdir(parents=True)
    (folder / "part-a.parquet").write_bytes(b"x")
    (folder / "part-b.parquet.tmp-0123abcd").write_bytes(b"x")
    assert layout.data_files(tmp_path, "ticks") == [folder / "part-a.parquet"]
    assert layout.partitions(tmp_path, "ticks") == ["2025-12-07"]
