"""TextBuffer: many UTF-8 texts back to back in one buffer, handed to Arrow without a copy.

The raw frames of a batch (~6 KB of argument JSON each, ~150 MB per 20k frames) are the one
big thing an ingest holds. Kept back to back they make one Arrow string column as they are,
and the Parquet writer reads them from contiguous memory. A buffer that grows anew each batch
is fresh memory each time, and on the machine the benchmark runs on touching fresh memory
costs more than the copy (~0.3 s of page faults per 20k frames). A `TextArena` lends the same
buffer to one `TextBuffer` after another, so after the first batch no new memory is touched.

Lending is safe by construction:
- a buffer is lent again only when no Arrow array still exports it (tried with a resize, which
  Python refuses while an export is alive); otherwise the arena starts a new buffer;
- the previous borrower, if still alive (say a test keeps an old batch), first copies its
  texts out, so it never reads what the next borrower writes.
"""

from __future__ import annotations

import weakref
from array import array

import pyarrow as pa


class TextArena:
    """One reusable buffer, lent to one `TextBuffer` at a time (see the module docstring)."""

    __slots__ = ("_borrower", "_buf")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._borrower: weakref.ref[TextBuffer] | None = None

    def lend(self, to: TextBuffer) -> bytearray:
        """The buffer, for `to` to write from offset 0 on (its previous contents are dead)."""
        prev = self._borrower() if self._borrower is not None else None
        if prev is not None and prev is not to:
            prev.own_copy()
        buf = self._buf
        try:  # a resize is refused while an Arrow array of an earlier batch exports the buffer
            if buf:
                buf.append(buf.pop())  # shrink by one, then back: never reallocates
        except BufferError:
            self._buf = bytearray()
        self._borrower = weakref.ref(to)
        return self._buf


class TextBuffer:
    """UTF-8 texts back to back: append bytes, read them back, or make an Arrow column.

    Args:
        arena: lend the buffer from this arena (reused from batch to batch); a buffer of
            its own when None.
    """

    __slots__ = ("__weakref__", "_arena", "_data", "_end", "_offsets")

    def __init__(self, arena: TextArena | None = None) -> None:
        self._arena = arena
        self._data: bytearray | None = None if arena is not None else bytearray()
        self._end = 0  # bytes in use; the buffer may be longer
        self._offsets = array("q", [0])  # text i is _data[_offsets[i]:_offsets[i + 1]]


    @property
    def memory(self) -> bytearray | None:
        """The buffer the texts are stored in (None before the first text when lent by an
        arena): its identity tells whether memory was reused."""
        return self._data
    def __len__(self) -> int:
        return len(self._offsets) - 1

    @property
    def nbytes(self) -> int:
        """Bytes of text held."""
        return self._end

    def append(self, text: bytes) -> None:
        """Append one text (valid UTF-8: not checked)."""
        end = self._put(self._end, text)
        self._end = end
        self._offsets.append(end)

    def extend(self, other: TextBuffer) -> None:
        """Append all texts of `other`."""
        if other._data is None:
            return
        base = self._end
        self._end = self._put(base, memoryview(other._data)[: other._end])  # one copy
        self._offsets.extend(o + base for o in other._offsets[1:])

    def _put(self, start: int, src: bytes | memoryview) -> int:
        """Write `src` at `start`; returns where it ends. Past the buffer's end the slice
        grows the buffer by `src` itself: new memory is touched once (growing with zeros
        first touched it twice)."""
        end = start + len(src)
        data = self._data
        if data is None:
            data = self._data = self._arena.lend(self)  # type: ignore[union-attr]
        try:
            data[start:end] = src
        except BufferError:  # an Arrow array of these texts is alive: continue in a copy
            self._detach()[start:end] = src
        return end

    def _detach(self) -> bytearray:
        """Continue in a copy of the texts: the buffer cannot grow while an Arrow array
        exports it (it is then no longer the arena's to lend either)."""
        assert self._data is not None
        data = self._data = bytearray(memoryview(self._data)[: self._end])
        self._arena = None
        return data

    def own_copy(self) -> None:
        """Keep the texts in a buffer of its own (the arena is about to lend its buffer)."""
        if self._data is not None and self._arena is not None:
            self._detach()

    def text(self, i: int) -> str:
        """Text `i` as `str`."""
        assert self._data is not None
        return self._data[self._offsets[i] : self._offsets[i + 1]].decode()

    def texts(self) -> list[str]:
        """All texts as `str`."""
        return [self.text(i) for i in range(len(self))]

    def arrow(self) -> pa.Array:
        """The texts as an Arrow `large_string` array over this buffer (no copy; the array
        keeps the buffer alive and the arena from lending it while the array lives)."""
        n = len(self)
        data = memoryview(self._data if self._data is not None else b"")[: self._end]
        offsets = pa.py_buffer(self._offsets.tobytes())  # a copy: more texts may follow
        return pa.LargeStringArray.from_buffers(n, offsets, pa.py_buffer(data))
