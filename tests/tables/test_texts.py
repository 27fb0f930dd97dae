"""TextBuffer / TextArena: texts read back right, however buffers are lent and exported."""

from __future__ import annotations

import gc

from rugslab.tables.texts import TextArena, TextBuffer

TEXTS = ["", "ab", "é€ 日本", '[{"price":1.25}]', "x" * 5000]
OTHER = ["zz" * 3000, "y", '["other"]', "", "w" * 10]


def _filled(texts: list[str], arena: TextArena | None = None) -> TextBuffer:
    b = TextBuffer(arena)
    for t in texts:
        b.append(t.encode())
    return b


def test_texts_read_back_as_str_and_as_arrow() -> None:
    b = _filled(TEXTS)
    assert len(b) == len(TEXTS)
    assert [b.text(i) for i in range(len(b))] == b.texts() == TEXTS
    arr = b.arrow()
    arr.validate(full=True)
    assert arr.to_pylist() == TEXTS


def test_an_empty_buffer_gives_an_empty_array() -> None:
    for b in (TextBuffer(), TextBuffer(TextArena())):
        assert len(b) == 0 and b.texts() == [] and b.arrow().to_pylist() == []


def test_extend_appends_the_other_buffers_texts() -> None:
    a, b = _filled(TEXTS), _filled(OTHER, TextArena())
    a.extend(b)
    assert a.texts() == TEXTS + OTHER
    assert a.arrow().to_pylist() == TEXTS + OTHER


def test_the_arena_lends_its_buffer_again_once_the_last_borrower_is_gone() -> None:
    arena = TextArena()
    first = _filled(TEXTS, arena)
    buf = first.memory
    del first
    gc.collect()
    second = _filled(OTHER, arena)
    assert second.memory is buf  # the same memory, reused
    assert second.texts() == OTHER


def test_a_borrower_still_alive_keeps_its_texts() -> None:
    arena = TextArena()
    first = _filled(TEXTS, arena)
    second = _filled(OTHER, arena)
    assert first.memory is not second.memory
    assert first.texts() == TEXTS and second.texts() == OTHER


def test_an_arrow_array_still_alive_keeps_its_texts() -> None:
    arena = TextArena()
    first = _filled(TEXTS, arena)
    arr = first.arrow()
    buf = first.memory
    del first
    gc.collect()
    small = ["q" * 200, "r" * 300]  # fits: would overwrite the exported bytes if lent again
    second = _filled(small, arena)
    assert second.memory is not buf
    assert arr.to_pylist() == TEXTS
    assert second.texts() == small


def test_appending_after_an_export_keeps_both_right() -> None:
    b = _filled(TEXTS, TextArena())
    arr = b.arrow()
    for t in OTHER * 50:  # enough to grow the buffer while the array exports it
        b.append(t.encode())
    assert arr.to_pylist() == TEXTS
    assert b.texts() == TEXTS + OTHER * 50
    assert b.arrow().to_pylist() == TEXTS + OTHER * 50


def test_a_lent_buffer_is_written_in_place_and_grown_by_the_text_past_its_end() -> None:
    arena = TextArena()
    first = _filled(["a" * 100, "b" * 100], arena)
    buf = first.memory
    del first
    gc.collect()
    # 150 bytes fit in the lent buffer; the next text straddles its end, the last lies past it
    texts = ["c" * 150, "d" * 120, "e" * 500]
    second = _filled(texts, arena)
    assert second.memory is buf  # grown in place, not replaced
    assert second.texts() == texts and second.arrow().to_pylist() == texts


def test_extending_after_an_export_keeps_both_right() -> None:
    b = _filled(TEXTS, TextArena())
    arr = b.arrow()
    b.extend(_filled(OTHER * 50))
    assert arr.to_pylist() == TEXTS
    assert b.texts() == TEXTS + OTHER * 50
