"""Browser interceptor logs: raw Socket.IO text or parsed events, sent frames marked, pings
counted and skipped."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

from rugslab.feed.frames import BadRecord, Frame
from rugslab.readers import detect_format, read_frames

TRACE = {"__trace": True, "traceparent": "00-abc-def-01"}
RECORDS = [
    {
        "timestamp": 1765559818624,
        "direction": "received",
        "source": "websocket",
        "data": '0{"sid":"x","pingInterval":25000}',
    },
    {"timestamp": 1765559818700, "direction": "received", "source": "websocket", "data": "40"},
    {
        "timestamp": 1765559818800,
        "direction": "received",
        "source": "websocket",
        "data": '42["gameStateUpdate",{"gameId":"20251212-0123456789abcdef","tickCount":5}]',
    },
    {"timestamp": 1765559818900, "direction": "in", "source": "websocket", "data": "2"},
    {"timestamp": 1765559818901, "direction": "out", "source": "websocket", "data": "3"},
    {
        "timestamp": "2025-12-12T17:16:59.000Z",
        "direction": "sent",
        "source": "websocket",
        "data": '42["buyOrder",{"amount":0.01}]',
    },
    {
        "timestamp": "2025-12-12T17:16:59.5",
        "direction": "received",
        "source": "socket.io",
        "event": "standard/newTrade",
        "data": [TRACE, {"type": "buy", "tickIndex": 5}],
    },
    {
        "timestamp": 1765559820,
        "direction": "received",
        "source": "websocket",
        "data": '42["newChatMessage",{"message":"hi"}]',
    },
    {
        "timestamp": 1765559821000,
        "direction": "received",
        "source": "websocket",
        "data": '42["gameStateUpdate",{"tickCount":',
    },
    {"timestamp": 1765559822000, "direction": "sideways", "source": "websocket", "data": "2"},
    {
        "timestamp": 1765559823000,
        "direction": "received",
        "source": "polling",
        "data": '42["a",1]\x1e2\x1e42["b",2]',
    },
    {
        "timestamp": 1765559824000,
        "direction": "received",
        "source": "websocket",
        "data": '451-["upload",{"_placeholder":true,"num":0}]',
    },
    {"timestamp": 1765559825000, "direction": "received", "source": "websocket", "data": "43[1]"},
]


def _check(path: Path) -> None:
    counters: Counter[str] = Counter()
    items = list(read_frames(path, counters=counters))
    frames = [x for x in items if isinstance(x, Frame)]
    bad = [x for x in items if isinstance(x, BadRecord)]
    src = str(path)
    assert [(f.event, f.args, f.source, f.seq, f.recv_ts_us) for f in frames] == [
        (
            "gameStateUpdate",
            [{"gameId": "20251212-0123456789abcdef", "tickCount": 5}],
            src,
            3,
            1765559818800_000,
        ),
        ("buyOrder", [{"amount": 0.01}], src + "#sent", 6, 1765559819_000000),
        ("standard/newTrade", [TRACE, {"type": "buy", "tickIndex": 5}], src, 7, 1765559819_500000),
        ("newChatMessage", [{"message": "hi"}], src, 8, 1765559820_000000),
        ("a", [1], src, 11, 1765559823000_000),
        ("b", [2], src, 11, 1765559823000_000),
    ]
    assert [(b.line_no, b.reason) for b in bad] == [
        (9, bad[0].reason),
        (10, "record 10: 'direction' 'sideways' is neither received nor sent"),
        (12, "record 12: binary Socket.IO event (45...): attachments were not captured"),
    ]
    assert bad[0].reason.startswith("record 9: malformed JSON in EVENT packet")
    assert counters == Counter(
        {
            "frames": 6,
            "bad_records": 3,
            "browser.pings": 2,
            "browser.non_event_packets": 3,
            "browser.sent_frames": 1,
        }
    )


def test_json_lines_log(tmp_path: Path) -> None:
    p = tmp_path / "ws.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    assert detect_format(p) == "browser-intercept"
    _check(p)


def test_json_array_log_pretty_printed(tmp_path: Path) -> None:
    p = tmp_path / "ws.json"
    p.write_text(json.dumps(RECORDS, indent=2))
    assert detect_format(p) == "browser-intercept"
    _check(p)


def test_gzipped_json_array_log(tmp_path: Path) -> None:
    p = tmp_path / "ws.json.gz"
    p.write_bytes(gzip.compress(json.dumps(RECORDS).encode()))
    assert detect_format(p) == "browser-intercept"
    _check(p)


def test_array_cut_short_keeps_the_whole_elements(tmp_path: Path) -> None:
    text = json.dumps(RECORDS[:3])
    p = tmp_path / "cut.json"
    p.write_text(text[:-30])
    items = list(read_frames(p))
    assert [x.event for x in items if isinstance(x, Frame)] == []
    (b,) = items
    assert isinstance(b, BadRecord) and b.line_no == 3 and "not valid JSON" in b.reason
