"""`rugslab paper --events FILE` on a disk that fills: the run trades on and writes the lake,
the file never holds half a line, the summary counts what was not written, and it exits 1.

Found by this attack and mended: the events file was buffered, so a full disk failed again
when the file was closed, and the run ended in an OSError traceback after its summary had
not been printed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rugslab.cli import main
from rugslab.lake.catalog import read_table

CAPTURE = "2025-12-12_two-rugs.jsonl"


def test_a_full_events_disk_leaves_whole_lines_and_the_run_goes_on(
    captures_dir: Path, tmp_path: Path, tmpfs: Callable[[str, str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    disk = tmpfs("events", "4k")  # one page
    events = disk / "events.jsonl"
    earlier = json.dumps({"type": "earlier_run", "pad": "x" * 3950}) + "\n"
    events.write_text(earlier)  # ~4,000 bytes: the next line fits only in part
    lake = tmp_path / "lake"
    code = main(["paper", "sidebet-fixed", "-p", "stake=0.2", "--replay",
                 str(captures_dir / CAPTURE), "--lake", str(lake), "--events", str(events)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 1
    assert events.read_text() == earlier  # every new line failed whole: no half line
    assert "events: 7 not delivered (listener errors; last: OSError: [Errno 28] No space " \
           "left on device)" in out  # the 8th, run_end, comes after the summary's counts
    assert "bankroll: 10.0000 → 10.8000 SOL" in out  # the trading went on
    assert read_table("paper_results", lake).height == 1
