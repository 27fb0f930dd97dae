"""A `LakeReport` as JSON, text or one self-contained HTML page, and written atomically.

JSON (for the nightly job and CI to record): one object,

    {"lake": {"path", "read_at", "read_time_ms", "as_of", "versions": {table: version}},
     "settings": {"origin", "origins", "games_of_origins", "max_games", "n_resamples", "seed",
                  "level", "rugslab_version"},
     "origin_games": {origin: games in the lake}, "notes": [why no game / a sample, if so],
     "games": 160, ..., "hazard_pooled": 0.0046, "hazard_pooled_lo": ..., ...}

with every key of `headline.HEADLINE_KEYS` at the top level: a number (`timing_verdict`: text),
or null where the data cannot say. Text: the lake line of `rugslab status`, then one line per
number, intervals as `x [lo, hi]`, a null as "no data" or "n too small". HTML: the same
numbers as a table and the main charts of notebooks 01, 02, 03 and 05 as inline SVG
(`rugslab.plots.render.html_page`): it loads nothing and opens offline.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC
from enum import StrEnum
from pathlib import Path

import polars as pl

from rugslab.analysis.headline import HEADLINE_KEYS, Value
from rugslab.errors import ConfigError
from rugslab.lake.layout import TEMP_MARKER
from rugslab.plots.render import Block, html_page
from rugslab.report.build import LakeReport, build_report
from rugslab.report.charts import DEFAULT_SIM_GAMES, report_charts


class ReportFormat(StrEnum):
    """`rugslab report --format`."""

    json = "json"
    html = "html"
    text = "text"


#: What each number is (interval keys `<key>_lo`, `<key>_hi` go with their key).
LABELS: dict[str, str] = {
    "games": "games described",
    "rugged_games": "games with a rug",
    "ticks": "tick rows of those games",
    "interval_ms_median": "tick interval median (ms)",
    "interval_ms_mad": "tick interval MAD (ms)",
    "interval_ms_p99": "tick interval 99th percentile (ms)",
    "stalls": "stalls (intervals > 1 s)",
    "lag1_autocorr": "lag-1 autocorrelation of intervals, stalls left out (games resampled)",
    "hazard_pooled": "pooled rug hazard per tick (games resampled)",
    "hazard_trend_p": "p-value of a linear trend in the hazard",
    "weibull_shape": "Weibull shape (1 = constant hazard)",
    "timing_effect_or": "odds ratio of a rug per SD of recent tick timing",
    "timing_verdict": "timing verdict (TOST against the side bet's breakeven margin)",
    "sidebet_win_prob_analytic": "side bet P(win), constant hazard",
    "sidebet_ev_analytic": "side bet EV per unit stake, constant hazard",
    "real_bets": "real-money side bets resolved",
    "real_bets_win_rate": "their win rate (games resampled)",
    "verified_games": "games verified against their revealed seed",
    "verification_failures": "games that failed verification",
}
#: The keys shown, one line each (the interval keys are shown with their key).
SHOWN = tuple(k for k in HEADLINE_KEYS if not k.endswith(("_lo", "_hi")))
assert set(SHOWN) == set(LABELS)


def _number(v: Value) -> str:
    if isinstance(v, (bool, str)):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    assert isinstance(v, float)
    return f"{v:.4g}"


def _shown(report: LakeReport, key: str) -> tuple[str, str]:
    """(value, interval) as text; a null says why ("no data" or "n too small")."""
    n = report.numbers
    value = n[key]
    text = _number(value) if value is not None else report.missing_reason(key)
    interval = ""
    if f"{key}_lo" in n:
        lo, hi = n[f"{key}_lo"], n[f"{key}_hi"]
        if lo is not None and hi is not None:
            interval = f"[{_number(lo)}, {_number(hi)}]"
        elif value is not None:
            interval = "[interval: n too small]"
    return text, interval


def _head(report: LakeReport) -> list[str]:
    s = report.settings()
    which = f"--origin {report.origin}: " if report.origin else ""
    return [
        report.snapshot.describe(),
        f"games: {which}origins {', '.join(report.origins)}; intervals {report.level:.0%}, "
        f"{s['n_resamples']:,} bootstrap replicates, seed {s['seed']}; rugslab "
        f"{s['rugslab_version']}",
        *(f"note: {n}" for n in report.notes),
    ]


def report_json(report: LakeReport) -> str:
    """The report as one JSON object (module docstring); null for a missing number."""
    out: dict[str, object] = {"lake": report.lake_info(), "settings": report.settings(),
                              "origin_games": report.origin_games, "notes": report.notes}
    out |= report.numbers
    return json.dumps(out, indent=1, allow_nan=False) + "\n"


def report_text(report: LakeReport) -> str:
    """The report as lines of text: the lake and settings, then one line per number,
    `key  value [lo, hi]  what it is`."""
    lines = [*_head(report), ""]
    rows = [(k, " ".join(p for p in _shown(report, k) if p), LABELS[k]) for k in SHOWN]
    kw, vw = (max(len(r[i]) for r in rows) for i in (0, 1))
    lines += [f"{k:<{kw}}  {v:<{vw}}  {label}" for k, v, label in rows]
    return "\n".join(lines) + "\n"


def numbers_table(report: LakeReport) -> pl.DataFrame:
    """One row per shown number: `number` (its JSON key), `what`, `value`, `interval` (text)."""
    rows = [(k, LABELS[k], *_shown(report, k)) for k in SHOWN]
    return pl.DataFrame(rows, schema=["number", "what", "value", "interval"], orient="row")


def report_html(report: LakeReport, *, sim_games: int = DEFAULT_SIM_GAMES) -> str:
    """The report as one self-contained HTML page: the lake and settings, the numbers, and
    the charts of `charts.REPORT_CHARTS` (each drawn to inline SVG, or a line saying why its
    data are missing).

    Raises:
        ConfigError: `sim_games` < 1, or a chart cannot be drawn (`render.html_page`).
    """
    charts = (f"Charts: the same functions as the notebooks on these games; the generator's "
              f"side from {sim_games:,} simulated games (seed {report.seed}).")
    sections: dict[str, list[Block]] = {
        "Lake": ["\n\n".join([*_head(report), charts])],
        "Headline numbers": [numbers_table(report)],
    }
    sections |= report_charts(report.data, n_resamples=report.n_resamples,
                              sim_games=sim_games, seed=report.seed)
    when = report.lake_info()["read_at"]
    return html_page(f"rugslab report: {report.snapshot.lake} at {when}", sections)


def render_report(report: LakeReport, fmt: ReportFormat | str, *,
                  sim_games: int = DEFAULT_SIM_GAMES) -> str:
    """The report in `fmt` ("json", "html" or "text").

    Raises:
        ConfigError: an unknown format (the message lists the known ones).
    """
    try:
        fmt = ReportFormat(fmt)
    except ValueError:
        raise ConfigError(f"Invalid format {fmt!r}: expected one of "
                          f"{', '.join(f.value for f in ReportFormat)}.") from None
    if fmt is ReportFormat.json:
        return report_json(report)
    if fmt is ReportFormat.html:
        return report_html(report, sim_games=sim_games)
    return report_text(report)


def check_writable(path: Path, *, arg: str = "--out") -> None:
    """Fail early when `path` cannot be written: its folder is missing or not writable, or it
    is a folder.

    Raises:
        ConfigError: naming `arg`, the path and the fix.
    """
    folder = path.parent if str(path.parent) else Path(".")
    try:
        if path.is_dir():
            raise ConfigError(f"Invalid {arg} '{path}': it is a folder; give a file name such "
                              f"as {path / 'report.json'}.")
        if not folder.is_dir():
            raise ConfigError(f"Invalid {arg} '{path}': folder {folder} does not exist "
                              "(create it or choose another path).")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(f"Invalid {arg} '{path}': folder {folder} is not writable "
                              "(choose another path or fix its permissions).")
    except OSError as e:  # a name past the file system's limit, a loop of links, ...
        raise ConfigError(f"Invalid {arg} '{path}': {e.strerror or e}; choose another "
                          "path.") from e


def _name_max(folder: Path) -> int:
    """The longest file name (bytes) the file system of `folder` allows (255 if unknown)."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def write_report(text: str, path: Path, *, arg: str = "--out") -> None:
    """Write `text` to `path` atomically: a `<name>.tmp-<token>` file in the same folder (the
    name cut short when it would pass the file system's limit),
    fsynced, then renamed over `path`; the temporary file is removed if anything fails.

    Raises:
        ConfigError: the file cannot be written (naming `arg`, the path and the OS's reason).
    """
    check_writable(path, arg=arg)
    suffix = f"{TEMP_MARKER}{uuid.uuid4().hex[:12]}"  # the name cut so that the suffix fits
    head = os.fsencode(path.name)[: _name_max(path.parent) - len(suffix)]
    tmp = path.with_name(os.fsdecode(head) + suffix)
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise ConfigError(f"Invalid {arg} '{path}': cannot write it ({e.strerror or e}); "
                          "choose another path, or make room on its disk.") from e
    finally:
        tmp.unlink(missing_ok=True)


def write_daily_report(lake: Path, folder: Path, *, n_resamples: int,
                       sim_games: int = DEFAULT_SIM_GAMES) -> list[Path]:
    """The day's report of `lake` as `report-YYYY-MM-DD.json` and `.html` in `folder` (made
    when missing; the day is the UTC date of the read time; a second run that day replaces
    them). What `rugslab nightly` does after maintenance and verification.

    Returns:
        The files written (JSON, then HTML).

    Raises:
        LakeError: the lake cannot be read. ConfigError: `folder` cannot be made or written.
    """
    report = build_report(lake, n_resamples=n_resamples)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"Invalid --report-dir '{folder}': cannot make it "
                          f"({e.strerror or e}).") from e
    stem = f"report-{report.snapshot.read_at.astimezone(UTC).date().isoformat()}"
    paths = [folder / f"{stem}.json", folder / f"{stem}.html"]
    write_report(report_json(report), paths[0], arg="--report-dir")
    write_report(report_html(report, sim_games=sim_games), paths[1], arg="--report-dir")
    return paths
