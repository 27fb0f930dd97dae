"""Archive lines: the `args` bytes cut from a line equal orjson's encoding of the decoded args,
so a frame gets the same `args_json` and `frame_id` whether it was read from an archive or
from any other format (where args are re-encoded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rugslab.events import Frame
from rugslab.readers import ArchiveWriter
from rugslab.readers.archive import args_bytes, read_archive

SESSION = "0123456789abcdef0123456789abcdef"
WALL = 1765559818_624285123

#: Values whose spelling differs between JSON encoders (floats, unicode, escapes, big ints).
TRICKY: list[Any] = [
    0.1 + 0.2, 1e-7, 0.00001, 1e-5 * 3, 1e15, 1e16, 1e22, 1.2345678901234567e-300, 5e-324,
    1.7976931348623157e308, -0.0, 100.0, 2.5, 12345678.9, 2**63 - 1, -(2**63), 2**64 - 1,
    "é", "😀 rugs", "\u2028\u2029", "\x7f", 'quote " back \\ slash /', "</script>",
    "a65e-017db837-0fde", {"nested": [1, {"x": [None, True, False, ""]}]}, [], {},
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _reencoded(f: Frame) -> Frame:
    """The same frame as a reader of another format builds it (args re-encoded on demand)."""
    return Frame(event=f.event, args=f.args, source=f.source, recv_ts_us=f.recv_ts_us)


def _written(root: Path, args_list: list[list[Any]]) -> list[Frame]:
    with ArchiveWriter(root, SESSION) as w:
        for i, args in enumerate(args_list):
            w.write("gameStateUpdate", args, recv_wall_ns=WALL + i, recv_mono_ns=i)
    out = [x for p in w.paths for x in read_archive(p)]
    assert all(isinstance(x, Frame) for x in out)
    return out  # type: ignore[return-value]


def test_tricky_values_are_cut_byte_identical_to_orjson(tmp_path: Path) -> None:
    frames = _written(tmp_path, [[v] for v in TRICKY] + [[{"__trace": True}, TRICKY]])
    assert len(frames) == len(TRICKY) + 1
    for f in frames:
        assert f._args_json is not None, f.args  # the cut was taken, not the re-encoding
        assert f._args_json == orjson.dumps(f.args)
        assert f.frame_id == _reencoded(f).frame_id


def test_control_characters_take_the_re_encoding_with_the_same_bytes(tmp_path: Path) -> None:
    (f,) = _written(tmp_path, [["\x01\x1f"]])
    assert f._args_json is None  # orjson writes them as \u0001: the guard declines the cut
    assert f.args_json == b'["\\u0001\\u001f"]'
    assert f.frame_id == _reencoded(f).frame_id


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(json_values, max_size=3), min_size=1, max_size=8))
def test_any_written_args_are_cut_byte_identical_to_orjson(
    tmp_path_factory: pytest.TempPathFactory, args_list: list[list[Any]]
) -> None:
    for f in _written(tmp_path_factory.mktemp("archive"), args_list):
        assert f.args_json == orjson.dumps(f.args)
        assert f.frame_id == _reencoded(f).frame_id


@pytest.mark.parametrize(
    ("dump", "cut"),
    [
        # Python's json, compact: non-ASCII escaped as \u00e9 → re-encoded
        (lambda r: json.dumps(r, separators=(",", ":")), False),
        # Python's json, compact, raw UTF-8: exponent spelled 1e-07 → re-encoded
        (lambda r: json.dumps(r, separators=(",", ":"), ensure_ascii=False), False),
        # Python's json with its default ", " / ": " separators: the head differs
        (lambda r: json.dumps(r), False),
        # orjson itself: cut
        (lambda r: orjson.dumps(r).decode(), True),
    ],
)
def test_lines_of_other_encoders_get_the_orjson_bytes(tmp_path: Path, dump: Any, cut: bool) -> None:
    args = [{"gameId": "20251212-0123456789abcdef", "price": 1e-7, "name": "é"}]
    rec = {"v": 1, "session": SESSION, "seq": 1, "recv_wall_ns": WALL, "recv_mono_ns": 5,
           "event": "gameStateUpdate", "args": args}
    path = tmp_path / "a.jsonl"
    path.write_text(dump(rec) + "\n", encoding="utf-8")
    (f,) = read_archive(path)
    assert isinstance(f, Frame)
    assert (f._args_json is not None) is cut
    assert f.args_json == b'[{"gameId":"20251212-0123456789abcdef","price":1e-7,"name":"\xc3\xa9"}]'
    assert f.frame_id == _reencoded(f).frame_id


@pytest.mark.parametrize(
    "line",
    [
        # keys in another order
        b'{"session":"s","v":1,"seq":1,"recv_wall_ns":1,"recv_mono_ns":null,"event":"e","args":[1]}\n',
        # no trailing newline (last line of a file)
        b'{"v":1,"session":"s","seq":1,"recv_wall_ns":1,"recv_mono_ns":null,"event":"e","args":[1]}',
        # Windows line end
        b'{"v":1,"session":"s","seq":1,"recv_wall_ns":1,"recv_mono_ns":null,"event":"e","args":[1]}\r\n',
    ],
)
def test_lines_not_laid_out_by_the_writer_are_not_cut(line: bytes) -> None:
    assert args_bytes(line, orjson.loads(line)) is None


def test_a_writer_line_is_cut_between_the_args_key_and_the_closing_brace() -> None:
    line = (b'{"v":1,"session":"s","seq":1,"recv_wall_ns":1,"recv_mono_ns":null,"event":"e",'
            b'"args":[1,"}"]}\n')
    assert args_bytes(line, orjson.loads(line)) == b'[1,"}"]'
