"""Frames from the real captures, built by a plain loop (independent of `rugslab.readers`).

Formats (../shared/captures/README.md): 12-06 `{timestamp, event_type, data}` lines, 12-12
`{seq, ts, event, data}` lines, 02-06 one JSON object name → `{_meta, event_type, timestamp_ms,
data}`. Naive timestamps are taken as UTC.

Imported by name (`from _capture_frames import ...`) from any test folder: pytest puts `tests/`
on `sys.path` for `tests/conftest.py` (the default `prepend` import mode, no `__init__.py`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rugslab.feed.frames import Frame, normalize_args

DEC06 = "2025-12-06_active-to-cooldown.jsonl"
DEC12 = "2025-12-12_two-rugs.jsonl"
FEB06 = "2026-02-06_phase-samples.json"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(iso: str) -> int:
    dt = datetime.fromisoformat(iso)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // timedelta(microseconds=1)


def load_frames(path: Path) -> list[Frame]:
    """Every record of a capture file as a Frame, in file order."""
    src = str(path)
    out = []
    if path.suffix == ".json":
        for i, (_name, rec) in enumerate(json.loads(path.read_text()).items(), 1):
            out.append(
                Frame(
                    event=rec["event_type"],
                    args=normalize_args(rec["data"]),
                    source=src,
                    recv_ts_us=rec["timestamp_ms"] * 1000,
                    seq=i,
                )
            )
        return out
    for n, line in enumerate(path.read_text().splitlines(), 1):
        rec = json.loads(line)
        if "event_type" in rec:
            out.append(
                Frame(
                    event=rec["event_type"],
                    args=normalize_args(rec["data"]),
                    source=src,
                    recv_ts_us=_us(rec["timestamp"]),
                    seq=n,
                )
            )
        else:
            out.append(
                Frame(
                    event=rec["event"],
                    args=normalize_args(rec["data"]),
                    source=src,
                    recv_ts_us=_us(rec["ts"]),
                    seq=rec["seq"],
                )
            )
    return out
