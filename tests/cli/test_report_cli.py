"""`rugslab report`: the headline numbers of one snapshot of a real lake as JSON, text or an
offline HTML page, to stdout or a file."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from rugslab.analysis.headline import HEADLINE_KEYS
from rugslab.cli import main
from rugslab.plots.render import external_references
from rugslab.report import REPORT_CHARTS

#: fast settings: the intervals are coarser, the numbers the same functions'
FAST = ["--resamples", "50", "--sim-games", "2000"]
#: the numbers that are counts (whole numbers), and the one that is a word
COUNTS = {"games", "rugged_games", "ticks", "stalls", "real_bets", "verified_games",
          "verification_failures"}
VERDICTS = {"constant", "timing", "undecided"}


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _json(capsys: pytest.CaptureFixture[str], lake: Path, *args: str) -> dict[str, Any]:
    code, out, err = _run(capsys, "--lake", str(lake), "--format", "json", *FAST, *args)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def _status_versions(capsys: pytest.CaptureFixture[str], lake: Path) -> tuple[str, dict[str, int]]:
    assert main(["status", "--lake", str(lake)]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.fullmatch(rf"lake {re.escape(str(lake))} read (\S+): (.*) \(reproduce with --as-of "
                     r"\S+\)", line)
    assert m, line
    return m[1], {t: int(v) for t, v in re.findall(r"(\w+) v(\d+)", m[2])}


@pytest.fixture(scope="module")
def full(report_lake: Any) -> dict[str, Any]:
    """The JSON report of the lake after both ingests (module scope: no capsys here)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["report", "--lake", str(report_lake.path), "--format", "json", *FAST]) == 0
    return json.loads(buf.getvalue())  # type: ignore[no-any-return]


def test_json_has_every_number_and_each_interval_holds_its_value(full: dict[str, Any]) -> None:
    assert set(HEADLINE_KEYS) <= set(full)
    for key in HEADLINE_KEYS:
        v = full[key]
        if key == "timing_verdict":
            assert v in VERDICTS
        elif key in COUNTS:
            assert type(v) is int and v >= 0, (key, v)
        else:
            assert type(v) in (int, float), (key, v)  # a lake with data: no null
        if f"{key}_lo" in full:
            assert full[f"{key}_lo"] <= v <= full[f"{key}_hi"], key
    assert (full["games"], full["rugged_games"], full["verification_failures"]) == (160, 150, 0)
    assert full["verified_games"] == 33  # the captures' revealed seeds
    assert full["settings"] == {"origin": "real",
                                "origins": ["live", "capture", "recording", "history",
                                            "unknown"], "games_of_origins": 160,
                                "max_games": 20_000, "n_resamples": 50, "seed": 0,
                                "level": 0.95, "rugslab_version": full["settings"]
                                ["rugslab_version"]}


def test_versions_and_read_time_are_the_ones_rugslab_status_prints(
    report_lake: Any, full: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    status_read, versions = _status_versions(capsys, report_lake.path)
    lake = full["lake"]
    assert lake["versions"] == versions
    assert lake["path"] == str(report_lake.path) and lake["as_of"] is None
    # the report read before status did; `--as-of` status's time gives the same versions
    assert lake["read_at"] <= status_read
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", lake["read_at"])
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    read_at = dt.datetime.fromisoformat(lake["read_at"])
    assert lake["read_time_ms"] == (read_at - epoch) // dt.timedelta(milliseconds=1)
    again = _json(capsys, report_lake.path, "--as-of", status_read)
    assert again["lake"]["versions"] == versions
    assert again["lake"]["as_of"] == status_read


def test_as_of_before_the_second_ingest_reproduces_the_first_report(
    report_lake: Any, full: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    first = report_lake.first
    then = first.lake_info()["read_at"]
    again = _json(capsys, report_lake.path, "--as-of", then)
    assert again["games"] == first.numbers["games"] == 36 < full["games"]
    # the same versions, so the same numbers, intervals included (same seed, same replicates)
    assert {k: again[k] for k in HEADLINE_KEYS} == first.numbers
    assert again["lake"]["versions"] == first.snapshot.versions()
    # the captures alone give every number (no null)
    assert [k for k in HEADLINE_KEYS if again[k] is None] == []


def test_numbers_are_null_not_absent_where_the_lake_has_no_data(
    report_lake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = _json(capsys, report_lake.path, "--as-of", "2000-01-01")  # before any table
    assert empty["lake"]["versions"] == {}
    assert set(HEADLINE_KEYS) <= set(empty)
    nulls = {k for k in HEADLINE_KEYS if empty[k] is None}
    assert nulls == {k for k in HEADLINE_KEYS
                     if k not in COUNTS and not k.startswith("sidebet_")}
    assert empty["sidebet_win_prob_analytic"] == pytest.approx(1 - 0.995**40)


def test_text_shows_the_lake_line_then_each_number_with_its_interval(
    report_lake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    then = report_lake.first.lake_info()["read_at"]
    code, out, _ = _run(capsys, "--lake", str(report_lake.path), "--as-of", then, *FAST)
    assert code == 0
    lines = out.splitlines()
    # the lake line of `rugslab status`, with the instant asked for
    versions = report_lake.first.snapshot.describe().split(": ", 1)[1].rsplit(" (", 1)[0]
    assert re.fullmatch(rf"lake {re.escape(str(report_lake.path))} read (\S+) as of {then}: "
                        rf"{re.escape(versions)} \(reproduce with --as-of \1\)", lines[0]), lines[0]
    n = report_lake.first.numbers
    row = next(line for line in lines if line.startswith("hazard_pooled "))
    assert re.search(rf"{n['hazard_pooled']:.4g} \[{n['hazard_pooled_lo']:.4g}, "
                     rf"{n['hazard_pooled_hi']:.4g}\]  pooled rug hazard", row), row
    assert re.search(r"^games +36 +games described$", out, re.M)
    assert re.search(r"^timing_verdict +(constant|timing|undecided) ", out, re.M)
    code, out, _ = _run(capsys, "--lake", str(report_lake.path), "--as-of", "2000-01-01", *FAST)
    assert re.search(r"^hazard_pooled +no data +pooled", out, re.M)
    assert re.search(r"^games +0 ", out, re.M)


def test_html_is_one_offline_page_with_every_chart(
    report_lake: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page_path = tmp_path / "report.html"
    code, out, err = _run(capsys, "--lake", str(report_lake.path), "--format", "html",
                          "--out", str(page_path), *FAST)
    assert code == 0, err
    assert out == "" and f"wrote {page_path}" in err
    page = page_path.read_text()
    assert external_references(page) == []
    assert "<script" not in page and "cdn" not in page.lower()
    charts = [c for names in REPORT_CHARTS.values() for c in names]
    assert page.count('<figure class="chart"><svg') == len(charts) == 11
    assert "no data" not in page
    for heading in REPORT_CHARTS:
        assert f"<h2>{heading}</h2>" in page
    for title in ("Tick intervals (receiver clock)", "Tick-interval autocorrelation",
                  "Rug hazard h(t)", "Kaplan–Meier survival", "Q–Q", "odds ratio per SD",
                  "Side-bet EV by start tick", "replay (line) vs lake (points)",
                  "Rug ticks vs constant hazard", "(flat under the generator)"):
        assert title in page, title
    assert "<td>hazard_pooled</td>" in page
    assert re.search(r"lake \S+ read \S+Z: .*games v\d+", page)


def test_out_writes_the_file_atomically_with_what_stdout_would_show(
    report_lake: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    then = report_lake.first.lake_info()["read_at"]
    args = ["--lake", str(report_lake.path), "--as-of", then, "--format", "json", *FAST]
    _, printed, _ = _run(capsys, *args)
    target = tmp_path / "r.json"
    target.write_text("old")
    code, out, _ = _run(capsys, *args, "--out", str(target))
    assert code == 0 and out == ""
    written = json.loads(target.read_text())
    shown = json.loads(printed)
    # the same snapshot and numbers; only the read time differs
    assert {k: written[k] for k in HEADLINE_KEYS} == {k: shown[k] for k in HEADLINE_KEYS}
    assert written["lake"]["versions"] == shown["lake"]["versions"]
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "xml"], "Invalid --format 'xml': expected json, html or text."),
    (["--out", "/nonexistent-folder/r.json"],
     "Invalid --out '/nonexistent-folder/r.json': folder /nonexistent-folder does not exist"),
    (["--as-of", "yesterday"], "Invalid --as-of 'yesterday': expected an ISO 8601 time"),
    (["--resamples", "3"], "Invalid --resamples 3: expected at least 10"),
])
def test_a_bad_option_exits_2_naming_the_option_the_value_and_the_fix(
    report_lake: Any, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "--lake", str(report_lake.path), *args)
    assert (code, out) == (2, "")
    assert err.startswith(f"rugslab: error: {message}"), err


def test_an_out_that_is_a_folder_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "--lake", str(tmp_path / "no-lake"), "--out", str(tmp_path))
    assert code == 2
    assert f"Invalid --out '{tmp_path}': it is a folder" in err


def test_a_missing_lake_exits_2_and_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "--lake", str(tmp_path / "nope"))
    assert code == 2
    assert f"no lake at {tmp_path / 'nope'}" in err and "rugslab ingest" in err
