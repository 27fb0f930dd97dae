"""Interval docstring unit guard: every public function of `rugslab.analysis` and
`rugslab.strategy` whose name or return type speaks of an interval (ci, interval, band,
bootstrap) says in its docstring what it resamples: "resampl..." and the unit, games or paths
(STYLE: the unit of independence is the game; a strategy's ensemble, the path). One that
does not resample says so ("no resampling") beside the unit. Read with `ast`, not imported."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rugslab"
FOLDERS = ("analysis", "strategy")
WORDS = re.compile(r"(^|_)(ci|cis|interval|intervals|band|bands|bootstrap|bootstraps)(_|$)")
RETURNS = re.compile(r"\b(Interval|BootstrapResult)\b|band|interval|bootstrap", re.IGNORECASE)
#: `analysis.timing`'s functions of tick intervals (the time between ticks, `interval_ms`):
#: data, not statistical intervals; each docstring must say it is about ticks.
TICK_INTERVAL_DATA = {"tick_intervals", "interval_stats", "interval_drift",
                      "interval_profile", "interval_breakdown", "interval_anomalies"}


def _functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for folder in FOLDERS:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                        and not node.name.startswith("_")):
                    found.append((f"{path.relative_to(PACKAGE.parent)}:{node.name}", node))
    return found


def _speaks_of_intervals(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    returns = ast.unparse(node.returns) if node.returns else ""
    return bool(WORDS.search(node.name.lower()) or RETURNS.search(returns))


GUARDED = [(where, node) for where, node in _functions() if _speaks_of_intervals(node)]


def test_the_guard_finds_the_interval_functions() -> None:
    names = {where.rsplit(":", 1)[1] for where, _ in GUARDED}
    assert {"cluster_bootstrap", "simultaneous_band", "mean_interval", "wilson_interval",
            "binomial_interval", "quantile_bands"} <= names


@pytest.mark.parametrize(("where", "node"), GUARDED, ids=[w for w, _ in GUARDED])
def test_an_interval_docstring_says_what_it_resamples(
    where: str, node: ast.FunctionDef | ast.AsyncFunctionDef
) -> None:
    doc = ast.get_docstring(node) or ""
    if node.name in TICK_INTERVAL_DATA and where.startswith("rugslab/analysis/timing.py"):
        assert re.search(r"(?i)\btick", doc), f"{where}: say it is about tick intervals"
        return
    assert "resampl" in doc.lower(), f"{where}: say what is resampled (or 'no resampling')"
    assert re.search(r"(?i)\b(games?|paths?)\b", doc), f"{where}: name the unit (games/paths)"
