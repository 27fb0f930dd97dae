"""`rugslab collect`, `status`, `nightly` and `demo` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rugslab.cli import main
from rugslab.config import parse_duration
from rugslab.errors import ConfigError
from rugslab.testing import running_server, sim_frames


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("8h", 28800),
                                               ("1h30m", 5400), ("45", 45), ("1.5m", 90)])
def test_durations_read_like_people_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "0s", "-3m", "3 hours"])
def test_a_bad_duration_names_the_flag_the_value_and_the_fix(text: str) -> None:
    with pytest.raises(ConfigError, match=r"Invalid --duration .*(like 90s|longer than zero)"):
        parse_duration(text)


def test_collect_with_a_bad_duration_exits_2_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["collect", "--lake", str(tmp_path), "--duration", "soon"]) == 2
    assert "Invalid --duration 'soon'" in capsys.readouterr().err


def test_status_of_a_missing_lake_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--lake", str(tmp_path / "nope")]) == 2
    assert "rugslab ingest" in capsys.readouterr().err


def test_nightly_collects_compacts_verifies_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_server(sim_frames(3, seed=8, speed=100), wait_for_clients=1) as srv:
        code = main(["nightly", "--url", srv.url, "--lake", str(tmp_path), "--max-games", "2",
                     "--duration", "60s", "--retention", "1h"])
    out = capsys.readouterr().out
    assert code == 0, out
    for section in ("== collect ==", "== compact ==", "== verify ==", "== lake =="):
        assert section in out
    assert "games complete (seen live, seed revealed): 2" in out
    assert "failed 0" in out


def test_demo_runs_the_pipeline_offline_and_prints_headline_numbers(
    tmp_path: Path, captures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a lake that already holds real games: the headline numbers are the demo's games only
    assert main(["ingest", "--lake", str(tmp_path), "--no-progress",
                 str(captures_dir / "2025-12-12_two-rugs.jsonl")]) == 0
    capsys.readouterr()
    assert main(["demo", "--lake", str(tmp_path), "--games", "3", "--speed", "100"]) == 0
    out = capsys.readouterr().out
    assert "verified 15, failed 0" in out  # 12 revealed in the capture + the demo's 3
    assert "games: 4 (3 rugged)" in out  # the 3 collected + the next one, not yet rugged
    assert "median tick interval:" in out and "side bets resolved:" in out
    assert "resampling games" in out or "n too small" in out  # a game-level interval
    assert "notebooks/00_lake_tour.ipynb" in out
    assert main(["status", "--lake", str(tmp_path)]) == 0
    assert "| date" in capsys.readouterr().out
