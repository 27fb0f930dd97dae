"""Validation: rows that fail typing or their pandera model become `rejects` rows."""

from __future__ import annotations

import orjson

from rugslab.lake.validate import batch_frame, content_reject, validate_frame
from rugslab.tables.batch import RowBatch

GID = "20251207-e8186dbf38e046d1"


def _tick(**over: object) -> dict[str, object]:
    row: dict[str, object] = {"game_id": GID, "tick": 1, "price_x": 1.01, "source": "live",
                              "is_rug": False}
    row.update(over)
    return row


def test_failing_rows_become_rejects_naming_checks_and_columns() -> None:
    b = RowBatch()
    b.extend("ticks", [_tick(), _tick(tick=-1), _tick(tick=2, price_x=-0.5, source="radio")])
    good, rejects = validate_frame(b.frame("ticks"), "ticks")
    assert good["tick"].to_list() == [1]
    assert [r["reason"] for r in rejects] == [
        "ticks: tick >= 0 failed: -1",
        "ticks: price_x >= 0 failed: -0.5; "
        "source: isin(('live', 'partial', 'history', 'import')) (got radio)",
    ]
    assert [r["table"] for r in rejects] == ["ticks", "ticks"]
    assert orjson.loads(rejects[0]["raw"]) == {
        "game_id": GID, "tick": -1, "price_x": 1.01, "recv_ts": None, "source": "live",
        "is_rug": False,
    }
    assert rejects[1]["source"] == "radio"


def test_value_of_the_wrong_type_rejects_only_its_row() -> None:
    b = RowBatch()
    b.extend("ticks", [_tick(), _tick(tick="seven"), _tick(tick=3)])
    frame, rejects = batch_frame(b, "ticks")
    assert frame["tick"].to_list() == [1, 3]
    assert len(rejects) == 1
    assert rejects[0]["reason"].startswith("ticks: wrong type: ")
    assert orjson.loads(rejects[0]["raw"])["tick"] == "seven"


def test_reject_id_is_stable_for_the_same_table_and_text() -> None:
    a = content_reject("ticks", "r1", '{"x":1}')
    b = content_reject("ticks", "another reason", '{"x":1}')
    c = content_reject("trades", "r1", '{"x":1}')
    assert a["reject_id"] == b["reject_id"] != c["reject_id"]
    assert len(a["reject_id"]) == 32


def test_valid_frame_passes_unchanged() -> None:
    b = RowBatch()
    b.extend("ticks", [_tick(tick=t) for t in range(5)])
    good, rejects = validate_frame(b.frame("ticks"), "ticks")
    assert rejects == []
    assert good.equals(b.frame("ticks"))


def test_reject_receive_time_is_a_utc_datetime_from_microseconds() -> None:
    row = content_reject("raw_events", "bad", "x", recv_ts=1_765_066_000_123_456)
    assert row["recv_ts"].isoformat() == "2025-12-07T00:06:40.123456+00:00"
    assert content_reject("raw_events", "bad", "x", recv_ts="yesterday")["recv_ts"] is None
