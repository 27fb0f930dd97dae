"""The collector's raw journal: write → read round trips, file naming, torn tails, gzip."""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rugslab.errors import FrameError
from rugslab.feed.frames import STATE_FIELDS, BadRecord, Frame, HistoryText, normalize_args
from rugslab.readers import ArchiveWriter, detect_format, read_frames
from rugslab.readers.archive import parse_archive_record, read_archive, state_fields

SESSION = "0123456789abcdef0123456789abcdef"
# 2025-12-12T17:16:58.624285123Z in ns
WALL = 1765559818_624285123

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
frames_in = st.lists(
    st.tuples(
        st.text(min_size=1, max_size=30),
        st.lists(json_values, max_size=3),
        st.integers(min_value=WALL, max_value=WALL + 10**12),
        st.integers(min_value=0, max_value=2**62),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(frames_in)
def test_written_frames_read_back_identical(
    tmp_path_factory: pytest.TempPathFactory, recs: list[tuple[str, list[Any], int, int]]
) -> None:
    root = tmp_path_factory.mktemp("archive")
    with ArchiveWriter(root, SESSION) as w:
        for event, args, wall, mono in recs:
            w.write(event, args, recv_wall_ns=wall, recv_mono_ns=mono)
    back = [x for p in w.paths for x in read_frames(p)]
    assert all(isinstance(x, Frame) for x in back)
    got = [(f.event, f.args, f.recv_ts_us, f.recv_mono_ns, f.seq, f.session_id) for f in back]  # type: ignore[union-attr]
    want = [(e, a, wall // 1000, mono, i, SESSION) for i, (e, a, wall, mono) in enumerate(recs, 1)]
    assert got == want
    # the args text kept from the line is orjson's encoding of the args, byte for byte
    assert [f.args_json for f in back] == [orjson.dumps(a) for _, a, _, _ in recs]  # type: ignore[union-attr]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=10),
            st.lists(json_values, max_size=2),
            st.integers(min_value=WALL // 1000, max_value=WALL // 1000 + 10**9),
            st.none() | st.integers(min_value=0, max_value=2**62),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_frames_rewritten_with_write_frame_read_back_identical(
    tmp_path_factory: pytest.TempPathFactory, recs: list[tuple[str, list[Any], int, int | None]]
) -> None:
    root = tmp_path_factory.mktemp("archive")
    frames = [Frame(e, a, "elsewhere", recv_ts_us=us, recv_mono_ns=m) for e, a, us, m in recs]
    with ArchiveWriter(root, SESSION) as w:
        for f in frames:
            w.write_frame(f)
    back = [x for p in w.paths for x in read_frames(p)]
    assert [(f.event, f.args, f.recv_ts_us, f.recv_mono_ns) for f in back] == [  # type: ignore[union-attr]
        (f.event, f.args, f.recv_ts_us, f.recv_mono_ns) for f in frames
    ]


def test_write_frame_without_receive_time_is_refused(tmp_path: Path) -> None:
    with ArchiveWriter(tmp_path, SESSION) as w, pytest.raises(FrameError, match="no receive time"):
        w.write_frame(Frame("x", [], "somewhere"))


def test_files_are_named_by_utc_day_and_part_and_rotate(tmp_path: Path) -> None:
    day = 86_400 * 10**9
    with ArchiveWriter(tmp_path, SESSION, max_bytes=200) as w:
        w.write("a", [1], recv_wall_ns=WALL, recv_mono_ns=1)
        w.write("b", ["x" * 300], recv_wall_ns=WALL + 1, recv_mono_ns=2)  # still part 1
        w.write("c", [], recv_wall_ns=WALL + 2, recv_mono_ns=3)  # part 1 is full: part 2
        w.write("d", [], recv_wall_ns=WALL + day, recv_mono_ns=4)  # next UTC day: part 3
        assert w.seq == 4
    rel = [p.relative_to(tmp_path).as_posix() for p in w.paths]
    assert rel == [
        f"2025-12-12/{SESSION}-1.jsonl",
        f"2025-12-12/{SESSION}-2.jsonl",
        f"2025-12-13/{SESSION}-3.jsonl",
    ]
    assert [[f.seq for f in read_frames(p)] for p in w.paths] == [[1, 2], [3], [4]]  # type: ignore[union-attr]
    assert detect_format(w.paths[0]) == "rugslab-archive"


def test_a_second_writer_of_the_same_session_never_clobbers(tmp_path: Path) -> None:
    with ArchiveWriter(tmp_path, SESSION) as w1:
        w1.write("a", [], recv_wall_ns=WALL, recv_mono_ns=1)
    with ArchiveWriter(tmp_path, SESSION) as w2:
        w2.write("b", [], recv_wall_ns=WALL, recv_mono_ns=1)
    assert [p.name for p in w1.paths + w2.paths] == [f"{SESSION}-1.jsonl", f"{SESSION}-2.jsonl"]


def test_flush_durable_makes_lines_visible_before_close(tmp_path: Path) -> None:
    w = ArchiveWriter(tmp_path, SESSION, wall_ns=lambda: WALL, mono_ns=lambda: 7)
    w.write("gameStateUpdate", [{"tickCount": 3}])
    w.flush_durable()
    assert w.path is not None
    (f,) = list(read_frames(w.path))
    assert isinstance(f, Frame) and (f.recv_ts_us, f.recv_mono_ns) == (WALL // 1000, 7)
    w.close()
    w.close()  # idempotent


def test_unserialisable_args_raise_and_write_nothing(tmp_path: Path) -> None:
    with ArchiveWriter(tmp_path, SESSION) as w:
        with pytest.raises(FrameError, match="not JSON-serialisable"):
            w.write("x", [object()], recv_wall_ns=WALL, recv_mono_ns=1)
        assert w.seq == 0 and w.paths == []


def test_torn_last_line_and_bad_records_are_reported(tmp_path: Path) -> None:
    with ArchiveWriter(tmp_path, SESSION) as w:
        w.write("a", [1], recv_wall_ns=WALL, recv_mono_ns=1)
    p = w.paths[0]
    with p.open("ab") as f:
        f.write(
            b'{"v": 2, "session": "s", "seq": 2, "recv_wall_ns": 1, "event": "x", "args": []}\n'
        )
        f.write(
            b'{"v": 1, "session": "s", "seq": 3, "recv_wall_ns": 1, "event": "x", "args": {}}\n'
        )
        f.write(b'{"v": 1, "session": "s", "seq": 4, "recv_wall_ns"')
    items = list(read_archive(p))
    assert isinstance(items[0], Frame)
    bad = items[1:]
    assert all(isinstance(b, BadRecord) for b in bad)
    assert [b.reason for b in bad] == [  # type: ignore[union-attr]
        "line 2: archive version 2 is not supported (expected 1)",
        "line 3: missing or non-list 'args'",
        bad[2].reason,  # type: ignore[union-attr]
    ]
    assert bad[2].reason.startswith("line 4 is not valid JSON")  # type: ignore[union-attr]


def test_a_record_without_monotonic_time_reads_in_any_layout(tmp_path: Path) -> None:
    """`recv_mono_ns` is optional: the compact line (fast path) and a spaced one (slow path)
    give the same frame; the spaced one raised KeyError and stopped the run."""
    p = tmp_path / "a.jsonl"
    p.write_bytes(
        b'{"v":1,"session":"s1","seq":5,"recv_wall_ns":1000,"event":"x","args":[]}\n'
        b'{"v": 1, "session": "s1", "seq": 6, "recv_wall_ns": 1000, "event": "x", "args": []}\n'
    )
    a, b = read_archive(p)
    assert isinstance(a, Frame) and isinstance(b, Frame)
    assert (a.recv_mono_ns, b.recv_mono_ns) == (None, None)
    assert (a.seq, b.seq) == (5, 6)


def test_gzipped_archive_reads_transparently(tmp_path: Path) -> None:
    with ArchiveWriter(tmp_path, SESSION) as w:
        for i in range(5):
            w.write("e", [i], recv_wall_ns=WALL + i, recv_mono_ns=i)
    gz = w.paths[0].with_suffix(".jsonl.gz")
    gz.write_bytes(gzip.compress(w.paths[0].read_bytes()))
    assert [f.args for f in read_frames(gz)] == [[0], [1], [2], [3], [4]]  # type: ignore[union-attr]


def _session_id(session: str, seq: int) -> str:
    return hashlib.blake2b(f"session\x00{session}\x00{seq}".encode(), digest_size=16).hexdigest()


def test_archive_frames_are_identified_by_session_and_seq(tmp_path: Path) -> None:
    with ArchiveWriter(tmp_path, SESSION) as w:
        w.write("a", [{"x": 1}], recv_wall_ns=WALL, recv_mono_ns=1)
        w.write("a", [{"x": 1}], recv_wall_ns=WALL, recv_mono_ns=1)  # same content, seq 2
    ids = [f.frame_id for f in read_frames(w.paths[0])]  # type: ignore[union-attr]
    assert ids == [_session_id(SESSION, 1), _session_id(SESSION, 2)]
    assert ids == [
        "61d27208fbd72901083496d004c518f4",
        "496d10384fb876e3719f6607283a54bc",
    ]


def test_lines_of_other_writers_read_the_same(tmp_path: Path) -> None:
    """Spacing, key order, and `,"args":` inside a string: decoded whole, same frames."""
    rec = {"v": 1, "session": SESSION, "seq": 1, "recv_wall_ns": WALL, "recv_mono_ns": 5,
           "event": 'odd,"args":[1]}', "args": [{"a": "x,\"args\":[2]", "b": 1.5}]}
    reordered = {"args": rec["args"], **{k: v for k, v in rec.items() if k != "args"}}
    p = tmp_path / f"{SESSION}-1.jsonl"
    p.write_text(
        orjson.dumps(rec).decode() + "\n" + json.dumps(rec) + "\n" + json.dumps(reordered) + "\n"
    )
    back = list(read_archive(p))
    assert [(f.event, f.args, f.seq, f.session_id, f.recv_ts_us, f.recv_mono_ns) for f in back] == [  # type: ignore[union-attr]
        ('odd,"args":[1]}', [{"a": 'x,"args":[2]', "b": 1.5}], 1, SESSION, WALL // 1000, 5)
    ] * 3
    assert [orjson.loads(f.args_json) for f in back] == [rec["args"]] * 3  # type: ignore[union-attr]


def test_write_frame_keeps_the_seq_of_its_own_session(tmp_path: Path) -> None:
    mine = [Frame("e", [i], "collector", recv_ts_us=WALL // 1000, seq=s, session_id=SESSION)
            for i, s in enumerate((1, 2, 5))]
    other = Frame("e", [9], "elsewhere", recv_ts_us=WALL // 1000, seq=3, session_id="b" * 32)
    with ArchiveWriter(tmp_path, SESSION) as w:
        assert [w.write_frame(f) for f in [*mine, other]] == [1, 2, 5, 6]
    back = list(read_frames(w.paths[0]))
    assert [f.seq for f in back] == [1, 2, 5, 6]  # type: ignore[union-attr]
    assert [f.frame_id for f in back[:3]] == [f.frame_id for f in mine]  # type: ignore[union-attr]


def _want_fields(args: list[Any]) -> dict[str, Any]:
    p = [a for a in args if not (isinstance(a, dict) and a.get("__trace") is True)][-1]
    return {k: v for k, v in p.items() if k in STATE_FIELDS}


#: gameStateUpdate frames of the 2025-12-12 capture, and those carrying a gameHistory
#: (counted with a plain orjson loop over the file's lines)
N_STATE_1212, N_HISTORY_1212 = 510, 4


def test_state_fields_decode_as_orjson_does(captures_dir: Path) -> None:
    """Every gameStateUpdate of the 2025-12-12 capture (with leaderboard and history)."""
    n = histories = 0
    for line in (captures_dir / "2025-12-12_two-rugs.jsonl").read_bytes().splitlines():
        rec = orjson.loads(line)
        if rec["event"] != "gameStateUpdate":
            continue
        args = normalize_args(rec["data"])
        text = orjson.dumps(args)
        got = state_fields(text)
        want = _want_fields(args)
        if b'"gameHistory":' in text:
            assert got is not None  # the capture's history opens the payload
            hist = got.pop("gameHistory")
            assert isinstance(hist, HistoryText)
            assert hist.decode() == want.pop("gameHistory")
            assert hist.count == len(args[-1]["gameHistory"])
            assert text[hist.start : hist.start + 2] == b"[{"
            histories += 1
        assert got == want
        assert {k: type(v) for k, v in got.items()} == {  # type: ignore[union-attr]
            k: type(v) for k, v in want.items()
        }
        n += 1
    assert (n, histories) == (N_STATE_1212, N_HISTORY_1212)


@pytest.mark.parametrize(
    "text",
    [
        b'{"gameId": "x"}',  # not an argument list
        b"[]",  # no payload
        b'[{"__trace": true}]',  # only a trace marker
        b'[{"price": 1.5}, 3]',  # payload not an object
        b'[{"price": 1, "price": 2}]',  # duplicate keys: orjson keeps the last
        b'[{"price": 18446744073709551616}]',  # beyond 64 bits: orjson gives a float
        b'[{"price": 1.5}',  # invalid JSON
        b'[{"gameHistory": [], "price": 1.5}]',  # history not in the archive's compact form
        b'[{"price": 1.5, "gameHistory": []}]',  # history not the first field
        b'[{"__trace": true}, {"gameHistory": []}]',  # history after a trace argument
        b'[{"gameHistory":{"id":"x"}}]',  # history not a list
        # __trace twice: orjson keeps the last (so not a marker: it is the payload),
        # simdjson finds the first
        b'[{"tickCount": 1}, {"__trace": true, "__trace": false}]',
        # a trace marker with a repeated key: orjson decides (any repeated key does)
        b'[{"tickCount": 1}, {"__trace": true, "t": 1, "t": 2}]',
    ],
)
def test_state_fields_leave_odd_texts_to_orjson(text: bytes) -> None:
    assert state_fields(text) is None


def test_state_fields_skip_trace_markers_and_keep_falsy_values() -> None:
    text = b'[{"__trace":true,"traceparent":"00-1"},{"price":0,"active":false,"rugged":null,' \
           b'"leaderboard":[{"id":1}],"chat":[{"m":"x"}],"partialPrices":{"startTick":1,"endTick":1,"values":{"1":2.5}}}]'
    assert state_fields(text) == {"price": 0, "active": False, "rugged": None,
                                  "leaderboard": [{"id": 1}],  # read for the players' tables
                                  "partialPrices": {"startTick": 1, "endTick": 1,
                                                    "values": {"1": 2.5}}}
    # a trace-looking object whose __trace is not true is the payload
    assert state_fields(b'[{"__trace":1,"tickCount":3}]') == {"tickCount": 3}


def test_game_state_frames_are_read_lazily_and_equal_eager_ones(tmp_path: Path) -> None:
    args = [{"__trace": True, "traceparent": "00-1"},
            {"gameId": "20251212-0123456789abcdef", "price": 1.25, "tickCount": 4,
             "active": True, "leaderboard": [{"id": "p", "pnl": -0.5}],
             "rugRoyale": {"big": [1, 2, 3]}}]
    with ArchiveWriter(tmp_path, SESSION) as w:
        w.write("gameStateUpdate", args, recv_wall_ns=WALL, recv_mono_ns=1)
        w.write("standard/newTrade", args, recv_wall_ns=WALL, recv_mono_ns=2)
    lazy, eager = read_archive(w.paths[0])
    assert isinstance(lazy, Frame) and isinstance(eager, Frame)
    assert lazy.state_fields == {"gameId": "20251212-0123456789abcdef", "price": 1.25,
                                 "tickCount": 4, "active": True,
                                 "leaderboard": [{"id": "p", "pnl": -0.5}]}
    assert eager.state_fields is None
    assert lazy.args == args and lazy.payload == args[1]  # decoded on first use
    assert lazy == Frame("gameStateUpdate", args, str(w.paths[0]), WALL // 1000, 1, 1, SESSION)


def test_a_failing_fast_path_falls_back_to_the_ordinary_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rugslab.readers.archive as archive

    args = [{"gameId": "20251212-0123456789abcdef", "price": 1.25}]
    with ArchiveWriter(tmp_path, SESSION) as w:
        w.write("gameStateUpdate", args, recv_wall_ns=WALL, recv_mono_ns=7)

    def broken(text: bytes) -> None:
        raise AttributeError("a bug in the fast path")

    monkeypatch.setattr(archive, "state_fields", broken)
    (frame,) = read_archive(w.paths[0])
    assert isinstance(frame, Frame) and frame.args == args and frame.state_fields is None


@pytest.mark.parametrize("damage", [lambda t: t[:-1], lambda t: t + b"garbage"])
def test_a_line_damaged_after_its_arguments_is_a_bad_record(
    tmp_path: Path, damage: Any
) -> None:
    with ArchiveWriter(tmp_path, SESSION) as w:
        w.write("gameStateUpdate", [{"price": 1.25}], recv_wall_ns=WALL, recv_mono_ns=7)
    good = w.paths[0].read_bytes().rstrip(b"\n")
    w.paths[0].write_bytes(damage(good) + b"\n")
    (item,) = read_archive(w.paths[0])
    assert isinstance(item, BadRecord)


_GOOD_HEADER = {"v": 1, "session": "s1", "seq": 5, "recv_wall_ns": 1_000_000,
                "recv_mono_ns": 7, "event": "gameStateUpdate"}
_ABSENT = object()
_NEAR_MISSES = {  # per header field: other values, valid or not (_ABSENT: no such key)
    "v": [True, 1.0, 2, "1", None, _ABSENT],
    "session": ["", 1, None, ["s1"], _ABSENT],
    "seq": [0, -1, 2**63, True, 5.0, "5", None, _ABSENT],
    "recv_wall_ns": [0, True, 1.5, "1", None, _ABSENT],
    "recv_mono_ns": [None, False, 7.5, "7", _ABSENT],
    "event": ["x", "", 5, None, _ABSENT],
}
_ARGS = st.sampled_from([[{"price": 1.5, "tickCount": 3}], [], [1, "a"], {}, None, "x"])


@settings(max_examples=300, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(sorted(_NEAR_MISSES)), st.integers(0, 7),
                               max_size=2),
       args=_ARGS)
def test_the_fast_path_accepts_exactly_the_records_the_checks_accept(
    changes: dict[str, int], args: Any
) -> None:
    """`_fast_frame` decodes only an archive line's header (and judges it with the header
    checks of `parse_archive_record`); what it accepts and the frame it gives must be what
    `parse_archive_record` and the ordinary decode give."""
    head = dict(_GOOD_HEADER)
    for key, pick in changes.items():  # one or two fields changed to a near miss
        value = _NEAR_MISSES[key][pick % len(_NEAR_MISSES[key])]
        if value is _ABSENT:
            del head[key]
        else:
            head[key] = value
    line = orjson.dumps(head)[:-1] + b',"args":' + orjson.dumps(args) + b"}\n"
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "a.jsonl"
        p.write_bytes(line)
        (item,) = read_archive(p)
    valid = parse_archive_record({**head, "args": args}) is None
    assert isinstance(item, Frame) == valid
    if valid:
        assert isinstance(item, Frame)
        assert (item.event, item.args, item.seq, item.session_id, item.recv_mono_ns,
                item.recv_ts_us) == (head["event"], args, head["seq"], head["session"],
                                     head.get("recv_mono_ns"), head["recv_wall_ns"] // 1000)
