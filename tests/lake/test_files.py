"""Atomic Parquet writes: readers see the old file or the new one, never a partial one."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from rugslab.errors import LakeError
from rugslab.lake import files, layout


def _frame(n: int) -> pl.DataFrame:
    return pl.DataFrame({"a": list(range(n))})


def test_atomic_write_round_trips_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "t" / "date=2025-12-07" / "data.parquet"
    files.write_parquet_atomic(_frame(3), target)
    assert pl.read_parquet(target)["a"].to_list() == [0, 1, 2]
    assert sorted(p.name for p in target.parent.iterdir()) == ["data.parquet"]
    assert pl.read_parquet_metadata(target) is not None


def test_crash_before_rename_keeps_the_old_file_and_removes_the_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "data.parquet"
    files.write_parquet_atomic(_frame(2), target)

    def boom(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", boom)
    with pytest.raises(LakeError, match="No space left on device") as err:
        files.write_parquet_atomic(_frame(5), target)
    assert err.value.path == target
    assert pl.read_parquet(target)["a"].to_list() == [0, 1]
    assert [p.name for p in tmp_path.iterdir()] == ["data.parquet"]


def test_temp_file_of_a_killed_writer_is_invisible_to_readers(tmp_path: Path) -> None:
    folder = layout.partition_dir(tmp_path, "rejects", "2025-12-07")
    folder.mkdir(parents=True)
    (folder / "part-x.parquet.tmp-deadbeef0000").write_bytes(b"PAR1 truncated")
    assert layout.data_files(tmp_path, "rejects") == []
    assert files.read_files(layout.data_files(tmp_path, "rejects"), "rejects").height == 0


def test_read_files_names_a_corrupt_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(LakeError, match=r"bad\.parquet") as err:
        files.read_files([bad], "ticks")
    assert err.value.path == bad


def test_read_files_gives_schema_columns_even_for_older_files(tmp_path: Path) -> None:
    p = tmp_path / "old.parquet"
    pl.DataFrame({"game_id": ["20251207-e8186dbf38e046d1"], "tick": [3]}).write_parquet(p)
    out = files.read_files([p], "ticks")
    assert out.columns == ["game_id", "tick", "price_x", "recv_ts", "source", "is_rug"]
    assert out.schema["tick"] == pl.Int32
    assert out.row(0) == ("20251207-e8186dbf38e046d1", 3, None, None, None, None)
    assert os.listdir(tmp_path) == ["old.parquet"]
