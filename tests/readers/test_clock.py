"""The recorder's zone from server-stamped chat messages."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rugslab.readers import read_frames
from rugslab.readers.clock import describe_offset, zone_offset_us

H = 3600 * 1_000_000


def test_offset_is_the_median_difference_rounded_to_a_quarter_hour() -> None:
    server = 1_765_577_835_613_000
    samples = [(server - 5 * H + d, server) for d in (800_000, 1_200_000, -300_000)]
    assert zone_offset_us(samples) == -5 * H
    ist = [(server + 5 * H + 30 * 60 * 1_000_000 + d, server) for d in (900_000, 0, 2_000_000)]
    assert zone_offset_us(ist) == 5 * H + 30 * 60 * 1_000_000
    assert describe_offset(-5 * H) == "UTC-05:00"
    assert describe_offset(int(5.5 * H)) == "UTC+05:30"


def test_no_samples_or_disagreeing_samples_give_no_offset() -> None:
    server = 1_765_577_835_613_000
    assert zone_offset_us([]) is None
    # one or two messages are too few (a stale message replayed on connect would decide)
    assert zone_offset_us([(server - 5 * H, server)] * 2) is None
    # local clock 7 minutes off a quarter hour in half the samples: not a time zone
    bad = [(server + 7 * 60 * 1_000_000, server), (server, server)] * 2
    assert zone_offset_us(bad) is None
    # a day off is no time zone
    assert zone_offset_us([(server - 24 * H, server)] * 3) is None


def _write(path: Path, chat_ms: int, local: str) -> None:
    trace = {"__trace": True, "traceparent": "t"}
    chat = {"timestamp": local, "event_type": "newChatMessage",
            "data": [trace, {"message": "gm", "timestamp": chat_ms}]}
    lines = [{"timestamp": local, "event_type": "gameStateUpdate", "data": {"gameId": "x"}}]
    lines += [chat] * 3
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))


def test_a_capture_recorded_in_utc_is_left_alone_and_one_without_chat_is_counted(
    tmp_path: Path,
) -> None:
    f = tmp_path / "utc.jsonl"
    _write(f, 1_765_577_835_613, "2025-12-12T22:17:16.100000")
    c: Counter[str] = Counter()
    frames = list(read_frames(f, counters=c))
    assert frames[0].recv_ts_us == 1_765_577_836_100_000  # type: ignore[union-attr]
    assert not [k for k in c if k.startswith("clock.")]

    g = tmp_path / "nochat.jsonl"
    g.write_text(json.dumps({"timestamp": "2025-12-12T17:00:00", "event_type": "x",
                             "data": {}}) + "\n")
    c = Counter()
    list(read_frames(g, counters=c))
    assert c == Counter({
        "frames": 1,
        "clock.zone_unknown_taken_as_utc (nochat.jsonl: no chat messages to infer its zone "
        "from; state the recorder's zone with --utc-offset, e.g. -05:00, or ingest the whole "
        "recording first)": 1,
    })
