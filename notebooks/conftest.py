"""Build the lake the research notebooks read, once, before nbmake runs the first notebook.

`pytest` (the README's test command) collects `notebooks/*.ipynb` with nbmake (`--nbmake` in
pyproject's addopts). nbmake starts one kernel per notebook in `runtest`; a kernel inherits
this process's environment when it starts, so setting `RUGSLAB_LAKE`, `RUGSLAB_SAMPLE_SIZE`
and `RUGSLAB_LIVE_SECONDS` in `os.environ` here (in `pytest_runtest_setup`, before the first
notebook's kernel) is what points every notebook at the lake built below.

The lake: `../shared/captures` and `../shared/recordings` ingested, plus `SIM_GAMES` simulated
games collected from a loopback server (`rugslab.notebook.build_lake`), in a temporary folder
removed at the end of the session. Without `../shared` the notebooks skip (fail under CI=true),
like the tests that use `tests/conftest.py`'s `shared_dir`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from rugslab import testing

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SIM_GAMES = 24
SIM_SPEED = 200.0
#: Cap on Monte Carlo games, bootstrap resamples and backtest games in the test run
#: (an RUGSLAB_SAMPLE_SIZE already set in the environment wins).
TEST_SAMPLE_SIZE = "2000"
#: How long notebook 06 watches its live server in the test run (an RUGSLAB_LIVE_SECONDS
#: already set wins); the user's default is 300 s.
TEST_LIVE_SECONDS = "8"

_built: dict[str, object] = {}


def _require_shared() -> Path:
    """Same rule as tests/conftest.py `require_shared`: skip, or fail under CI=true."""
    return testing.require_shared(SHARED, needed_for="the notebooks run on a lake built")


def _notebook_lake() -> Path:
    if "error" in _built:
        raise RuntimeError(f"building the notebook lake failed earlier: {_built['error']}")
    if "lake" not in _built:
        shared = _require_shared()
        from rugslab.notebook import build_lake

        folder = Path(tempfile.mkdtemp(prefix="rugslab-notebook-lake-"))
        _built["folder"] = folder
        lake = folder / "lake"
        try:
            build_lake(lake, inputs=[shared / "captures", shared / "recordings"],
                       sim_games=SIM_GAMES, speed=SIM_SPEED)
        except Exception as e:
            _built["error"] = repr(e)
            raise
        _built["lake"] = lake
        _built["saved_env"] = {k: os.environ.get(k) for k in (
            "RUGSLAB_LAKE", "RUGSLAB_SAMPLE_SIZE", "RUGSLAB_LIVE_SECONDS")}
        os.environ["RUGSLAB_LAKE"] = str(lake)
        os.environ.setdefault("RUGSLAB_SAMPLE_SIZE", TEST_SAMPLE_SIZE)
        os.environ.setdefault("RUGSLAB_LIVE_SECONDS", TEST_LIVE_SECONDS)
    return Path(str(_built["lake"]))


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.path.suffix == ".ipynb":
        _notebook_lake()


def pytest_unconfigure(config: pytest.Config) -> None:
    saved = _built.get("saved_env")
    if isinstance(saved, dict):
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    folder = _built.get("folder")
    if isinstance(folder, Path):
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every notebook takes 8-16 s (a kernel, then the analyses): `slow`, so the fast subset
    (`pytest -m "not slow"`) leaves them out."""
    for item in items:
        if item.nodeid.startswith("notebooks/") and item.nodeid.endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
