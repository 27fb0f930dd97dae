"""RollingHistory: entries of a history given as text equal those of the decoded history."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from _capture_frames import DEC12, load_frames

from rugslab.assembly.history_cache import UNDECODED, Entry, RollingHistory
from rugslab.feed.frames import HistoryText
from rugslab.readers.archive import state_fields


@pytest.fixture(scope="module")
def history(captures_dir: Path) -> list[dict[str, Any]]:
    """The first gameHistory of the 2025-12-12 capture (10 entries)."""
    for f in load_frames(captures_dir / DEC12):
        p = f.payload
        if isinstance(p, dict) and "gameHistory" in p:
            return p["gameHistory"]  # type: ignore[no-any-return]
    raise AssertionError("no gameHistory in the capture")


def _text(entries: list[Any], *, extra: bytes = b"") -> HistoryText:
    doc = orjson.dumps([{"gameHistory": entries, "gameId": "20251212-00000000000000aa"}])
    doc = doc[:-2] + extra + doc[-2:]
    fields = state_fields(doc)
    assert fields is not None
    h = fields["gameHistory"]
    assert isinstance(h, HistoryText)
    return h


def _reference(entries: list[Any]) -> list[tuple[Any, ...]]:
    got = RollingHistory().entries(entries)
    assert got is not None
    return [(e.raw_id, e.blob, e.digest) for e in got]


def _decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = HistoryText.decode
    monkeypatch.setattr(HistoryText, "decode", lambda self: calls.append(1) or real(self))
    return calls


def _ids(got: list[Entry] | None) -> list[tuple[Any, ...]]:
    assert got is not None
    return [(e.raw_id, e.blob, e.digest) for e in got]


def test_entries_of_a_decoded_history(history: list[dict[str, Any]]) -> None:
    got = RollingHistory().entries(history)
    assert got is not None and len(got) == len(history) == 10
    for e, v in zip(got, history, strict=True):
        assert e.raw_id == v["id"] and e.value is v
        assert e.blob == orjson.dumps(v)
        assert e.digest == hashlib.blake2b(e.blob, digest_size=16).digest()


def test_the_same_text_again_is_not_decoded(
    history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _decodes(monkeypatch)
    r = RollingHistory()
    r.entries(_text(history))
    again = r.entries(_text(history, extra=b',"x":1'))  # other fields differ: same history
    assert len(calls) == 1
    assert _ids(again) == _reference(history)
    assert again is not None and all(e.value is UNDECODED for e in again)


def test_one_new_game_in_front_decodes_only_that_entry(
    history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _decodes(monkeypatch)
    r = RollingHistory()
    r.entries(_text(history[1:]))
    got = r.entries(_text(history))
    assert len(calls) == 1  # the first history only
    assert _ids(got) == _reference(history)
    assert got is not None and got[0].value == history[0]
    assert all(e.value is UNDECODED for e in got[1:])


@pytest.mark.parametrize(
    ("change", "decodes"),
    [
        (lambda h: h[2:], 0),  # the oldest games dropped: all remembered
        (lambda h: [h[0], *h[2:]], 0),  # a new game, then remembered ones
        (lambda h: [], 0),  # empty
        (lambda h: [h[0], dict(h[1], peakMultiplier=99.5), *h[2:]], 1),  # two unknown in a row
        (lambda h: [*h[1:], h[0]], 1),  # a new game last: nothing after it tells its end
        (lambda h: [dict(h[1], peakMultiplier=99.5), *h[2:]], 0),  # changed, then remembered
    ],
)
def test_other_changes_give_the_decoded_entries(
    history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, change: Any, decodes: int
) -> None:
    calls = _decodes(monkeypatch)
    r = RollingHistory()
    r.entries(_text(history[1:]))
    new = change(history)
    assert _ids(r.entries(_text(new))) == _reference(new)
    assert len(calls) == 1 + decodes


def test_a_history_seen_before_the_last_one_is_still_remembered(
    history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _decodes(monkeypatch)
    other = [dict(e, id=e["id"][:-4] + "ffff") for e in history]
    r = RollingHistory()
    for h in (history, other, history, other):
        assert _ids(r.entries(_text(h))) == _reference(h)
    assert len(calls) == 2  # each history decoded once
    small = RollingHistory(keep=10)
    for h in (history, other, history):
        small.entries(_text(h))
    assert len(calls) == 5  # keep=10: the first history was forgotten


def test_a_new_entry_not_in_compact_form_is_decoded(history: list[dict[str, Any]]) -> None:
    r = RollingHistory()
    r.entries(_text(history[1:]))
    spaced = b"[" + orjson.dumps(history[0], option=orjson.OPT_INDENT_2) + b"," + b",".join(
        orjson.dumps(e) for e in history[1:]
    ) + b"]"
    doc = b'[{"gameHistory":' + spaced + b"}]"
    h = HistoryText(doc, len(b'[{"gameHistory":'), len(history))
    assert _ids(r.entries(h)) == _reference(history)


def test_not_a_list_gives_none() -> None:
    assert RollingHistory().entries({"id": "x"}) is None
    assert RollingHistory().entries(None) is None
