"""The tracker on the real captures: the messages each channel gets, games verified from
their revealed seeds, and a looping replay that plays its games again."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rugslab.feed.frames import Frame
from rugslab.live.tracker import FeedTracker, verdict_message
from rugslab.readers import read_frames

TWO_RUGS = "2025-12-12_two-rugs.jsonl"
FIRST, SECOND = "20251212-25dcb17086a24ad7", "20251212-6114b2ff44ef4b71"


def _feed(tracker: FeedTracker, path: Path) -> list[tuple[str, dict]]:
    out = []
    for fr in read_frames(path):
        if isinstance(fr, Frame):
            out += tracker.feed(fr)[0]
    return out


def test_the_two_rugs_capture_gives_each_tick_once_and_both_games_verify(
    captures_dir: Path,
) -> None:
    tr = FeedTracker()
    msgs = _feed(tr, captures_dir / TWO_RUGS)
    counts = Counter(ch for ch, _ in msgs)
    assert (counts["ticks"], counts["trades"], tr.skipped) == (243, 31, 0)
    games = [(m["kind"], m["game_id"]) for ch, m in msgs if ch == "games"]
    assert games == [("start", FIRST), ("rug", FIRST), ("start", SECOND), ("rug", SECOND),
                     ("seed", FIRST), ("seed", SECOND)]
    first = tr.game(FIRST)
    assert first is not None and (first.first_tick, first.rug_tick) == (4, 229)
    ticks = [m["tick"] for ch, m in msgs if ch == "ticks" and m["game_id"] == FIRST]
    assert ticks == list(range(4, 230))  # every tick once, backfilled ones included
    for gid in (FIRST, SECOND):
        v = verdict_message(tr.game(gid))  # type: ignore[arg-type]
        assert (v["status"], v["hash_ok"], v["path_ok"], v["rug_tick_ok"]) == (
            "verified", True, True, True)


def test_a_looping_replay_plays_its_games_again(captures_dir: Path) -> None:
    tr = FeedTracker()
    once = _feed(tr, captures_dir / TWO_RUGS)
    again = _feed(tr, captures_dir / TWO_RUGS)
    ticks = [(m["game_id"], m["tick"]) for ch, m in once if ch == "ticks"]
    assert [(m["game_id"], m["tick"]) for ch, m in again if ch == "ticks"] == ticks
    assert [m["kind"] for ch, m in again if ch == "games"] == [
        "start", "rug", "start", "rug", "seed", "seed"]
