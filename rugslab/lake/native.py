"""Keep delta-rs' panic reports off the terminal when rugslab reports the failure itself.

When a write fails inside delta-rs on a full disk, its object store's upload task can panic
("thread 'tokio-rt-worker' panicked at .../object_store/src/buffered.rs: Already shut down",
then a stack backtrace) while the call returns the real error (No space left on device),
which rugslab turns into a one-line `LakeError` naming the path and the fix. The panic text is
written by Rust straight to file descriptor 2, past Python's `sys.stderr`.

`native_stderr_filtered()` points fd 2 at a temporary file while a Delta call runs and then
writes what was captured back to the real stderr, without the lines of a Rust panic report
when the call raised (the error is reported by rugslab). Anything else written meanwhile
(Python's own stderr output from other threads, warnings) is passed through, in order.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import Final

#: Lines of a Rust panic report: the header, its message (the line after it), the backtrace.
_PANIC_HEAD: Final = re.compile(rb"^thread '[^']*'.* panicked at ")
_PANIC_TAIL: Final = re.compile(rb"^(stack backtrace:|\s+\d+: |\s+at |note: .*backtrace)")
_lock = threading.RLock()


def drop_panic_reports(data: bytes) -> bytes:
    """`data` without the lines of Rust panic reports (the empty line before the header, the
    header, the message line, the backtrace)."""
    out: list[bytes] = []
    lines = data.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        if _PANIC_HEAD.match(lines[i]):
            if out and not out[-1].strip():
                out.pop()  # Rust starts a panic report with an empty line
            i += 2  # the header and the panic message
            while i < len(lines) and _PANIC_TAIL.match(lines[i]):
                i += 1
            continue
        out.append(lines[i])
        i += 1
    return b"".join(out)


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Capture fd 2 during the block; pass it on afterwards, minus Rust panic reports when the
    block raised. One block at a time per process (others wait); a no-op when fd 2 cannot be
    redirected."""
    with _lock:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
            sink = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
            os.dup2(sink.fileno(), 2)
        except (OSError, ValueError, AttributeError):
            yield
            return
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            data = sink.read()
            sink.close()
            if failed:
                data = drop_panic_reports(data)
            if data:
                with contextlib.suppress(OSError):
                    os.write(2, data)
