"""Reading the old layout's Parquet files (for `rugslab lake migrate`): typed, temp files
unseen, a corrupt file named."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from rugslab.errors import LakeError
from rugslab.lake import files, layout


def _frame(n: int) -> pl.DataFrame:
    return pl.DataFrame({"a": list(range(n))})


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
