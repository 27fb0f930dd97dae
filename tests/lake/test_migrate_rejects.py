"""`rugslab lake migrate` on a lake already in Delta: `rejects` rows whose ids an older recipe made
(validation, bad lines of capture files, pieces of legacy recordings) get the current id in one
commit, so a re-ingest of their input adds nothing; other rows are left alone; a second run
changes nothing."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from rugslab.cli import main
from rugslab.ingest import ingest
from rugslab.lake.catalog import read_table
from rugslab.lake.delta import open_table
from rugslab.lake.delta_write import append_absent
from rugslab.lake.migrate import RejectIdsRewritten, migrate_lake, migrate_reject_ids
from rugslab.lake.validate import content_reject
from rugslab.tables.rejects import reject_id
from rugslab.tables.schemas import TABLES

GID = "20251030-0123456789abcdef"
REJECT_COLUMNS = list(TABLES["rejects"].polars_schema)
#: a row of the assembler's recipe (unchanged) and a row of no recipe at all
UNTOUCHED = ["e" * 32, reject_id("f" * 32, "ticks", "some reason")]


def _old_validate_id(table: str, locator: str, raw: str) -> str:
    """`lake.validate.reject_row`'s id before the one recipe."""
    h = hashlib.blake2b(digest_size=16)
    h.update(table.encode())
    h.update(b"\x00")
    h.update(locator.encode())
    h.update(b"\x00")
    h.update(raw.encode())
    return h.hexdigest()


def _old_legacy_id(source_name: str, line_no: int, raw: str, offset: int = 0) -> str:
    """`readers.legacy.reject_id` before the one recipe."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{source_name}\x00{line_no}\x00{offset}\x00".encode())
    h.update(raw.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _old_id(row: dict[str, object]) -> str:
    """The id the row had before the one recipe (assembler rows: the same)."""
    reason, raw, table = str(row["reason"]), str(row["raw"]), str(row["table"])
    legacy = re.match(r"^legacy recording (.+) line (\d+) col (\d+): ", reason)
    if legacy:
        return _old_legacy_id(legacy[1], int(legacy[2]), raw, int(legacy[3]) - 1)
    located = re.match(r"^([^:]+:\d+): ", reason)
    if located and table == "raw_events":
        return _old_validate_id(table, located[1], raw)
    return str(row["reject_id"])


@pytest.fixture
def inputs(tmp_path: Path, captures_dir: Path) -> Path:
    """A capture file with two bad lines and a legacy recording with two bad pieces."""
    folder = tmp_path / "in"
    folder.mkdir()
    lines = (captures_dir / "2025-12-06_active-to-cooldown.jsonl").read_bytes().splitlines()[:6]
    lines[2:2] = [b"{not json", b'{"timestamp": "yesterday", "event_type": "x", "data": {}}']
    (folder / "cap.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    start = {"type": "game_start", "timestamp": "2025-10-30T15:00:00.000000", "game_id": GID}
    tick = {"type": "tick", "timestamp": "2025-10-30T15:00:01.000000", "game_id": GID,
            "tick": 0, "price": 1.0, "phase": "GAME_ACTIVATION", "active": True,
            "rugged": False, "cooldown_timer": 0, "trade_count": 0}
    legacy = [json.dumps(start), json.dumps(tick)[:-20] + json.dumps(tick),
              json.dumps({**tick, "game_id": "bad"})]
    (folder / "game_20251030_150000.jsonl").write_text("\n".join(legacy) + "\n")
    return folder


def _rejects(lake: Path) -> pl.DataFrame:
    return read_table("rejects", lake).select(REJECT_COLUMNS).sort("reason")


def _old_lake(tmp_path: Path, inputs: Path) -> tuple[Path, pl.DataFrame]:
    """A lake of `inputs` whose rejects carry the ids of the old recipes, plus a validation
    reject and the two `UNTOUCHED` rows; and the rejects as the current rugslab writes them."""
    lake = tmp_path / "lake"
    ingest([inputs], lake=lake, progress=False)
    extra = [content_reject("ticks", "ticks: tick >= 0 failed: -1", '{"tick":-1}',
                            recv_ts=datetime(2025, 10, 30, 15, tzinfo=UTC))]
    extra += [{"reject_id": rid, "table": "frame", "reason": f"r{i}", "source": "s",
               "recv_ts": None, "raw": "x"} for i, rid in enumerate(UNTOUCHED)]
    current = pl.concat([read_table("rejects", lake).select(REJECT_COLUMNS),
                         pl.DataFrame(extra, schema=TABLES["rejects"].polars_schema)])
    old_ids = [_old_id(r) for r in current.iter_rows(named=True)]
    old_ids[-3] = _old_validate_id("ticks", "", '{"tick":-1}')
    old = current.with_columns(pl.Series("reject_id", old_ids))
    shutil.rmtree(lake / "rejects")
    append_absent(lake, "rejects", old)
    assert _rejects(lake).equals(old.sort("reason"))
    return lake, current.sort("reason")


def test_old_reject_ids_are_rewritten_and_a_reingest_adds_no_rows(
    tmp_path: Path, inputs: Path
) -> None:
    lake, current = _old_lake(tmp_path, inputs)
    before = _rejects(lake)
    old = set(before["reject_id"]) - set(current["reject_id"])
    assert len(old) == 5  # 2 capture lines, 2 legacy pieces, 1 validation reject
    report = migrate_lake(lake)
    assert report.reject_ids == RejectIdsRewritten(rewritten=5, removed=0)
    assert str(report).endswith("rejects: 5 reject id(s) rewritten")
    after = _rejects(lake)
    assert after.equals(current)  # every other column as it was
    assert set(UNTOUCHED) <= set(after["reject_id"])
    summary = ingest([inputs], lake=lake, progress=False)
    assert summary.rows_new["rejects"] == 0
    assert _rejects(lake).equals(current)
    version = open_table(lake, "rejects").version()  # type: ignore[union-attr]
    again = migrate_lake(lake)
    assert again.reject_ids == RejectIdsRewritten(0, 0)
    assert str(again).endswith("nothing to migrate")
    assert open_table(lake, "rejects").version() == version  # type: ignore[union-attr]


def test_rows_ingested_again_before_the_migration_are_not_kept_twice(
    tmp_path: Path, inputs: Path
) -> None:
    lake, current = _old_lake(tmp_path, inputs)
    ingest([inputs], lake=lake, progress=False)  # the upgraded rugslab adds the current ids
    assert _rejects(lake).height == current.height + 4
    assert migrate_reject_ids(lake) == RejectIdsRewritten(rewritten=1, removed=4)
    assert _rejects(lake).equals(current)
    assert migrate_reject_ids(lake) == RejectIdsRewritten(0, 0)


def test_a_lake_without_rejects_is_left_alone(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    assert migrate_reject_ids(lake) == RejectIdsRewritten(0, 0)
    assert not (lake / "rejects").exists()


def test_the_cli_reports_the_rewritten_ids(
    tmp_path: Path, inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake, current = _old_lake(tmp_path, inputs)
    assert main(["lake", "migrate", "--lake", str(lake)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "rejects: 5 reject id(s) rewritten"
    assert "is already in the Delta layout" in out
    assert _rejects(lake).equals(current)
