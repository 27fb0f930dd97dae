"""The report's charts: one per entry of REPORT_CHARTS, or a line saying why its data are
missing, so a report of a thin lake still builds."""

from __future__ import annotations

import re
from typing import Any

from rugslab.plots.render import external_references
from rugslab.report import REPORT_CHARTS, build_report, report_html


def test_a_lake_without_data_gets_a_page_that_says_which_charts_have_none(
    report_lake: Any,
) -> None:
    empty = build_report(report_lake.path, as_of="2000-01-01", n_resamples=20)
    page = report_html(empty, sim_games=500)
    assert external_references(page) == []
    missing = re.findall(r"<p>([^<:]+): no data \(([^)]*)\)</p>", page)
    assert [name for name, _ in missing] == [
        "interval histogram", "intervals by day", "autocorrelation", "hazard curve",
        "Kaplan–Meier survival", "rug tick Q–Q", "timing effect", "replayed game",
        "peaks given the rug tick"]
    # the generator's side needs no lake data: the EV and rug tick charts are drawn
    drawn = sum(len(names) for names in REPORT_CHARTS.values()) - len(missing)
    assert page.count('<figure class="chart"><svg') == drawn == 2
    assert "<td>hazard_pooled</td><td>pooled rug hazard per tick (games resampled)</td>" \
           "<td>no data</td>" in page
