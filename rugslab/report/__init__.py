"""`rugslab report`: a lake's headline numbers from one snapshot, as JSON, text or one
self-contained HTML page with the main charts of notebooks 01, 02, 03 and 05.

    from rugslab.report import build_report, render_report
    report = build_report("lake", as_of=None, n_resamples=1000)
    print(render_report(report, "text"))

    build.py     read one snapshot, compute `headline_numbers` (`LakeReport`)
    charts.py    the notebooks' main charts from the report's frames
    formats.py   JSON, text, HTML; atomic writes; the nightly's day report
"""

from rugslab.report.build import DEFAULT_RESAMPLES, LakeReport, ReportData, build_report
from rugslab.report.charts import DEFAULT_SIM_GAMES, REPORT_CHARTS, report_charts
from rugslab.report.formats import (
    ReportFormat,
    check_writable,
    render_report,
    report_html,
    report_json,
    report_text,
    write_daily_report,
    write_report,
)

__all__ = [
    "DEFAULT_RESAMPLES", "DEFAULT_SIM_GAMES", "REPORT_CHARTS", "LakeReport", "ReportData",
    "ReportFormat", "build_report", "check_writable", "render_report", "report_charts",
    "report_html", "report_json", "report_text", "write_daily_report", "write_report",
]
