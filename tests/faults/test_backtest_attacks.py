"""Attacks on `rugslab backtest`: hostile --param texts, --paths/--games/--bankroll of 0,
negative, NaN and inf, and lake sources with nothing to bet on. Each: exit 2 and one
`rugslab: error:` line naming the flag and the value, never a traceback.
(`--bankroll inf` used to be "Invalid bankroll inf: expected SOL > 0", without the flag.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from rugslab.cli import main

SMALL = ("--paths", "5", "--games", "5")


def _error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["backtest", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert (code, out) == (2, "")
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rugslab: error: "), err
    return lines[0]


@pytest.mark.parametrize(("param", "says"), [
    ("nosuch=1", "Unknown --param nosuch='1' for sidebet-fixed: expected one of"),
    ("stäke=0.1", "Unknown --param stäke='0.1' for sidebet-fixed"),
    ("stake=abc", "Invalid --param stake='abc' for sidebet-fixed: expected a number > 0."),
    ("stake=nan", "Invalid --param stake='nan'"),
    ("stake=NaN", "Invalid --param stake='NaN'"),
    ("stake=inf", "Invalid --param stake='inf'"),
    ("stake=1e309", "Invalid --param stake='1e309'"),  # parses to inf
    ("stake=-0.1", "Invalid --param stake='-0.1'"),
    ("stake=0", "Invalid --param stake='0'"),
    ("stake=", "Invalid --param stake=''"),
    ("", "Invalid --param '': expected KEY=VALUE"),
    ("=0.1", "Invalid --param '=0.1': expected KEY=VALUE"),
    ("stake", "Invalid --param 'stake': expected KEY=VALUE"),
])
def test_a_hostile_param_is_one_line_naming_it(
    capsys: pytest.CaptureFixture[str], param: str, says: str
) -> None:
    assert says in _error(capsys, "sidebet-fixed", *SMALL, "--param", param)


@pytest.mark.parametrize(("flag", "value"), [
    ("--paths", "0"), ("--paths", "-3"), ("--games", "0"), ("--games", "-1"),
    ("--bankroll", "0"), ("--bankroll", "-1"), ("--bankroll", "nan"), ("--bankroll", "inf"),
    ("--bankroll", "1e309"),
])
def test_a_count_or_bankroll_out_of_range_names_the_flag(
    capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    args = dict(zip(SMALL[::2], SMALL[1::2], strict=True)) | {flag: value}
    line = _error(capsys, "sidebet-fixed", *[x for kv in args.items() for x in kv])
    assert line.startswith(f"rugslab: error: Invalid {flag} "), line
    assert "expected a finite number > 0" in line


def test_a_lake_with_no_games_says_what_to_ingest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "lake").mkdir()
    line = _error(capsys, "sidebet-fixed", *SMALL, "--source", "lake", "--lake",
                  str(tmp_path / "lake"))
    assert "No lake games can settle a bet" in line and "ingest captures" in line


def test_a_missing_lake_says_how_to_make_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "nolake"
    line = _error(capsys, "sidebet-fixed", *SMALL, "--source", "lake", "--lake", str(lake))
    assert f"no lake at {lake}: run `rugslab ingest --lake {lake} PATH...` first" in line
