"""Frame identity: (session, seq) for collector frames, content for every other frame."""

from __future__ import annotations

import hashlib

from rugslab.feed.frames import Frame

ARGS = [{"__trace": True, "traceparent": "00-ab"}, {"gameId": "20251212-0123456789abcdef"}]


def test_frames_without_a_session_are_identified_by_content() -> None:
    f = Frame("gameStateUpdate", ARGS, "capture.jsonl", recv_ts_us=1_765_559_818_624_285, seq=7)
    text = b'[{"__trace":true,"traceparent":"00-ab"},{"gameId":"20251212-0123456789abcdef"}]'
    want = hashlib.blake2b(
        b"gameStateUpdate\x001765559818624285\x00" + text, digest_size=16
    ).hexdigest()
    assert f.args_json == text
    assert f.frame_id == want
    # same content read from another file: same id; another receive time: another id
    copy = Frame("gameStateUpdate", list(ARGS), "copy.jsonl", 1_765_559_818_624_285)
    assert copy.frame_id == want
    assert Frame("gameStateUpdate", ARGS, "x", 1_765_559_818_624_286).frame_id != want


def test_collector_frames_are_identified_by_session_and_seq() -> None:
    sid = "0123456789abcdef0123456789abcdef"
    live = Frame("gameStateUpdate", ARGS, f"collector:{sid}", 1_765_559_818_624_285,
                 recv_mono_ns=5, seq=3, session_id=sid)
    # as read back from the journal: other source, args text as written
    journal = Frame("gameStateUpdate", ARGS, "journal.jsonl", 1_765_559_818_624_285,
                    recv_mono_ns=5, seq=3, session_id=sid, _args_json=b"[ignored]")
    want = hashlib.blake2b(f"session\x00{sid}\x003".encode(), digest_size=16).hexdigest()
    assert live.frame_id == journal.frame_id == want
    assert Frame("gameStateUpdate", ARGS, "x", 1, seq=4, session_id=sid).frame_id != want
