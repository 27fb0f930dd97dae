"""`rugslab collect`, `status`, `nightly` and `demo` from the command line."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rugslab import report
from rugslab.analysis.headline import HEADLINE_KEYS
from rugslab.cli import main
from rugslab.config import parse_duration
from rugslab.errors import ConfigError, LakeError
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
    lake, reports = tmp_path / "lake", tmp_path / "logs"
    with running_server(sim_frames(3, seed=8, speed=100), wait_for_clients=1) as srv:
        code = main(["nightly", "--url", srv.url, "--lake", str(lake), "--max-games", "2",
                     "--duration", "60s", "--retention", "1h", "--report-dir", str(reports),
                     "--report-resamples", "50"])
    out = capsys.readouterr().out
    assert code == 0, out
    for section in ("== collect ==", "== compact ==", "== verify ==", "== report ==",
                    "== lake =="):
        assert section in out
    assert "games complete (seen live, seed revealed): 2" in out
    assert "failed 0" in out
    # the day's report, named by the UTC date of its read: the games are simulated (loopback),
    # so the real-game numbers it holds are null, never absent
    written = sorted(p.name for p in reports.iterdir())
    day = written[0].removeprefix("report-").removesuffix(".html")
    assert written == [f"report-{day}.html", f"report-{day}.json"]
    assert f"wrote {reports / written[1]}, {reports / written[0]}" in out
    report = json.loads((reports / written[1]).read_text())
    assert set(HEADLINE_KEYS) <= set(report)
    assert (report["games"], report["hazard_pooled"]) == (0, None)
    assert report["lake"]["versions"]["games"] >= 1
    assert dt.datetime.fromisoformat(report["lake"]["read_at"]).date().isoformat() == day


def test_the_report_goes_beside_the_log_stdout_is_appended_to(tmp_path: Path) -> None:
    show = ("from pathlib import Path; from rugslab.cli.commands_collect import report_folder;"
            f"print(report_folder(None, Path({str(tmp_path / 'srv' / 'lake')!r})))")
    log = tmp_path / "logs" / "rugslab-nightly.log"
    log.parent.mkdir()
    with open(log, "a") as fh:  # cron's `>> rugslab-nightly.log`
        subprocess.run([sys.executable, "-c", show], stdout=fh, check=True)
    assert log.read_text().strip() == str(log.parent)
    # a pipe or terminal: reports/ beside the lake
    piped = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True,
                           check=True)
    assert piped.stdout.strip() == str(tmp_path / "srv" / "reports")


def test_nightly_refuses_too_few_report_resamples_before_collecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nightly", "--report-resamples", "5", "--lake", str(tmp_path)]) == 2
    assert "Invalid --report-resamples 5: expected at least 10" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_nightly_whose_report_fails_still_compacts_verifies_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(lake: Path, folder: Path, **kw: object) -> list[Path]:
        raise LakeError(f"cannot read {lake}: test")

    monkeypatch.setattr(report, "write_daily_report", broken)
    with running_server(sim_frames(3, seed=8, speed=100), wait_for_clients=1) as srv:
        code = main(["nightly", "--url", srv.url, "--lake", str(tmp_path / "lake"),
                     "--max-games", "2", "--duration", "60s", "--retention", "1h",
                     "--report-dir", str(tmp_path / "logs")])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "compacted " in out and "failed 0" in out  # maintenance and verification ran
    assert "== report ==\nFAILED: cannot read " in out
    assert "the lake was compacted and verified all the same" in out
    assert "== lake ==" in out


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
