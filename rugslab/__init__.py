"""rugslab: a research workbench and Parquet data lake for the rugs.fun crash game.

Subpackages: `readers` (capture formats → frames), `lake` (layout, atomic writes, DuckDB
catalog), `fair` (provably-fair replay), `sim` (Monte Carlo), `analysis`, `collector`, `cli`.
"""

__version__ = "0.1.0"
