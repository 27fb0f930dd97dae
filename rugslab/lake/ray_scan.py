"""Lake tables through Ray Data: a table scan spread over a Ray cluster's nodes.

    from rugslab.lake.ray_scan import read_table_ray
    ticks = read_table_ray("lake", "ticks", columns=["game_id", "tick", "price_x"])

`ray.data.read_delta` reads the table's log with `deltalake` and its data files as one Arrow
dataset, split into read tasks that run on whichever nodes have free CPUs; the rows then come
back to this process as one polars frame. It is meant for a cluster (`rugslab backtest
--source lake --engine ray --address ...`); on one machine `lake.catalog.read_table` (DuckDB)
reads the lake directly. Every node must see the lake at the same path (README, "Running on
Ray").

Same rows, same order, same dtypes as `lake.catalog.read_table` (`tests/lake/test_ray_scan.py`):
the version read is the one asked for (else the latest), the rows are sorted by the table's
key (`layout.row_order`) and cast to the table's polars dtypes.

`ray.data.read_delta` (Ray 2.60, the version this was written and tested with) opens the
table version with `deltalake` and reads its Arrow dataset (`to_pyarrow_dataset`), whose file
paths are relative to the table; it is given pyarrow's own local filesystem rooted at the table
(as the README's pyarrow snippet does): deltalake's default one, a Python handler called from
Arrow's I/O threads, can abort the process at exit (`rugslab.lake.delta`). A Ray whose
`read_delta` takes no `version` or `storage_options` (older releases) is refused with a
`ConfigError` naming the upgrade. Local paths only (a shared mount on a cluster): object
storage is not supported here.

Ray is an optional dependency (`pip install "rugslab[ray]"`): `require_ray` imports it, or
raises a `ConfigError` that names the install command.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import polars as pl
import pyarrow as pa
from pyarrow.fs import LocalFileSystem, SubTreeFileSystem

from rugslab.errors import ConfigError, LakeError
from rugslab.lake.delta import PARTITION, delta_message, open_table
from rugslab.lake.delta_read import empty_frame
from rugslab.lake.layout import row_order, table_dir
from rugslab.tables.schemas import TABLES

#: How to install Ray the way rugslab uses it (the package's optional extra).
RAY_INSTALL = 'pip install "rugslab[ray]"'
#: The Ray `read_table_ray` was tested with (pyproject's `ray` extra asks for it or later).
RAY_FLOOR = "2.60"


def require_ray(what: str = "--engine ray") -> ModuleType:
    """The `ray` module, with Ray Data. Imported here first, Ray is told not to install its
    C++ failure signal handler in this process and the Ray processes it starts
    (`RAY_DISABLE_FAILURE_SIGNAL_HANDLER=1`, unless set; read once, at import): that handler
    met a SIGTERM during `ray.init` with a stack dump and an abort instead of letting the
    command shut Ray down (`rugslab.strategy.ray_engine`, tests/faults/test_backtest_signals.py).

    Raises:
        ConfigError: Ray (or Ray Data) is not installed; the message names `what` needed it
            and the install command.
    """
    os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
    try:
        ray = importlib.import_module("ray")
        importlib.import_module("ray.data")
    except ImportError as e:
        raise ConfigError(f"{what} needs Ray, which is not installed ({e}): install it with "
                          f"`{RAY_INSTALL}` (or `pip install \"ray[data]\"`), or run without "
                          "Ray (the local engine gives the same numbers).") from e
    return ray


def read_table_ray(lake: Path | str, table: str, *, columns: Sequence[str] | None = None,
                   version: int | None = None) -> pl.DataFrame:
    """Rows of lake table `table` read by Ray Data (`ray.data.read_delta`), as a polars frame.

    Ray must be initialised (`rugslab.strategy.ray_engine.ray_session`); otherwise Ray Data
    starts a local instance of its own.

    Args:
        lake: lake root folder, the same path on every node of the cluster.
        table: lake table name (`schemas.TABLES`).
        columns: these columns, in this order (default: the table's columns; `date`, the
            partition, may be among them). Only these are read from the files.
        version: the table version to read (e.g. a `LakeSnapshot`'s); None: the latest.

    Returns:
        The rows sorted by the table's key, with its polars dtypes (as `read_table`); an
        empty frame with those columns when the table does not exist.

    Raises:
        ConfigError: Ray is not installed.
        LakeError: as `lake.delta.open_table` (no such version, a corrupt log), or a data file
            could not be read.
        KeyError: `table` is not a lake table.
    """
    ray = require_ray("reading the lake through Ray Data")
    want = list(columns) if columns is not None else list(TABLES[table].polars_schema)
    if open_table(lake, table, version=version) is None:
        return empty_frame(table, want)
    order = [c for c in row_order(table) if c not in want]
    root = str(table_dir(Path(lake), table).resolve())
    accepts = inspect.signature(ray.data.read_delta).parameters
    if "version" not in accepts or "storage_options" not in accepts:
        raise ConfigError(f"Ray {ray.__version__} cannot read a version of a Delta table as "
                          "rugslab needs (`ray.data.read_delta` has no `version` or "
                          "`storage_options`): upgrade it with "
                          f"`{RAY_INSTALL}` (Ray ≥ {RAY_FLOOR}) on this machine and the "
                          "cluster's nodes.")
    # the dataset's paths are relative to the table: a filesystem rooted there
    fs = SubTreeFileSystem(root, LocalFileSystem())
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False  # else the whole context is printed to stdout
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # no per-read INFO lines
    try:
        ds = ray.data.read_delta(root, version=version, columns=[*want, *order],
                                 filesystem=fs)
        parts = ray.get(ds.to_arrow_refs())
    except (OSError, ValueError, RuntimeError, ray.exceptions.RayError) as e:
        raise LakeError(f"cannot read lake table {table} through Ray Data at {root}: "
                        f"{delta_message(e)}; every node must see the lake at this path",
                        path=root) from e
    if not parts or sum(p.num_rows for p in parts) == 0:
        return empty_frame(table, want)
    frame = pl.from_arrow(pa.concat_tables(parts, promote_options="default"))
    assert isinstance(frame, pl.DataFrame)
    types = {**TABLES[table].polars_schema, PARTITION: pl.Date()}
    frame = frame.with_columns(pl.col(c).cast(types[c]) for c in frame.columns)
    return frame.sort(row_order(table), nulls_last=True).select(want)
