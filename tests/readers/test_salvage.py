"""Torn lines split into whole records and fragments; nothing whole is lost, nothing cut short
is repaired."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from rugslab.readers.salvage import split_records

A = {
    "type": "tick",
    "timestamp": "2025-10-31T15:05:33.338433",
    "game_id": "20251031-a2f8825cbf2148f4",
    "tick": 0,
    "price": 1.0,
    "phase": "UNKNOWN",
    "active": False,
    "rugged": False,
    "cooldown_timer": 14700,
    "trade_count": 0,
}
B = dict(A, timestamp="2025-10-31T15:05:33.436152", cooldown_timer=14600)
C = dict(A, timestamp="2025-10-31T15:05:33.540000", cooldown_timer=14500)


def _j(o: dict) -> str:
    return json.dumps(o)


def test_a_whole_line_is_one_record() -> None:
    (p,) = split_records(_j(A) + "\n")
    assert p.obj == A and p.offset == 0


def test_cut_short_record_then_stray_brace_then_whole_record() -> None:
    cut = _j(A)[:-1]  # ends `"trade_count": 0` without `}`
    line = cut + '{"' + _j(B)
    pieces = split_records(line)
    assert [(p.is_record, p.offset) for p in pieces] == [(False, 0), (True, len(cut) + 2)]
    assert pieces[0].text == cut + '{"' and pieces[1].obj == B


def test_line_starting_with_stray_brace_and_holding_three_records() -> None:
    line = '{"' + _j(A)[:-1] + '{"' + _j(B)[:-40] + _j(C)
    pieces = split_records(line)
    assert [p.text if p.obj is None else p.obj for p in pieces] == [
        '{"',
        _j(A)[:-1] + '{"',
        _j(B)[:-40],
        C,
    ]


def test_records_glued_without_damage_are_all_kept() -> None:
    pieces = split_records(_j(A) + _j(B) + "  " + _j(C))
    assert [p.obj for p in pieces] == [A, B, C]


def test_fragment_only_lines() -> None:
    tail = _j(A)[60:]
    (p,) = split_records(tail)
    assert p.obj is None and p.text == tail.strip() and p.offset == 0
    (q,) = split_records("}")
    assert q.obj is None and q.text == "}"
    assert split_records("   ") == []


def test_record_with_trailing_garbage_keeps_the_record() -> None:
    pieces = split_records(_j(A) + ' {"')
    assert [(p.obj, p.text) for p in pieces] == [(A, _j(A)), (None, '{"')]


@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.integers(min_value=1, max_value=150),
            st.sampled_from(["", "{", '{"', " "]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_every_whole_record_is_recovered(parts: list[tuple[bool, int, str]]) -> None:
    recs = [dict(A, tick=i) for i in range(len(parts))]
    line, whole = "", []
    for rec, (keep, cut, junk) in zip(recs, parts, strict=True):
        text = _j(rec)
        line += junk + (text if keep else text[: len(text) - cut])
        if keep:
            whole.append(rec)
    pieces = split_records(line)
    assert [p.obj for p in pieces if p.obj is not None] == whole
    # everything not in a record is reported as a fragment
    assert "".join(p.text for p in pieces).replace(" ", "") == line.replace(" ", "")
