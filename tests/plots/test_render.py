"""rugslab.plots.render: charts drawn to SVG here, shown with no network, in notebooks and pages."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import altair as alt
import polars as pl
import pytest

from rugslab.errors import ConfigError
from rugslab.plots import render

BARS = pl.DataFrame({"tick": [1, 2, 3], "rugs": [3, 1, 2]})
#: a data mark of vega's SVG: a graphics symbol that is not an axis, legend or title
MARK = re.compile(r'<(path|line|rect|text)[^>]*role="graphics-symbol"[^>]*'
                  r'aria-roledescription="(?!axis|legend|title)[^"]*"[^>]*>')


def bars() -> alt.Chart:
    return alt.Chart(BARS).mark_bar().encode(
        x="tick:O", y="rugs:Q", tooltip=["tick:O", "rugs:Q"]).properties(title="Rugs & ticks")


def clipped_line() -> alt.Chart:
    return alt.Chart(BARS).mark_line(clip=True).encode(
        x=alt.X("tick:Q", scale=alt.Scale(domain=[1.5, 2.5])), y="rugs:Q")


def _svg_of(output_html: str) -> str:
    found = re.search(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", output_html)
    assert found is not None
    return base64.b64decode(found.group(1)).decode()


@pytest.fixture()
def restore_renderer() -> Iterator[None]:
    before = alt.renderers.active
    yield
    alt.renderers.enable(before)


def test_chart_svg_draws_every_bar_with_its_values_as_tooltip() -> None:
    svg = render.chart_svg(bars())
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and svg.count("<svg") == 1
    assert len(MARK.findall(svg)) == 3
    assert re.findall(r"<title>([^<]*)</title>", svg) == [
        "tick: 1\nrugs: 3", "tick: 2\nrugs: 1", "tick: 3\nrugs: 2"]
    assert 'aria-label="tick' not in svg  # the title is each bar's accessible name
    assert render.external_references(svg) == []


def test_chart_svg_prefixes_ids_and_every_reference_to_them() -> None:
    svg = render.chart_svg(clipped_line(), id_prefix="c7-")
    ids = re.findall(r' id="([^"]*)"', svg)
    refs = re.findall(r"url\(#([^)]*)\)", svg)
    assert ids == ["c7-clip1"]
    assert refs and set(refs) <= set(ids)


def test_chart_svg_accepts_a_spec_dict() -> None:
    assert render.chart_svg(bars().to_dict()) == render.chart_svg(bars())


def test_chart_svg_refuses_data_from_a_url() -> None:
    chart = alt.Chart(alt.Data(url="https://example.com/rugs.csv")).mark_point().encode(x="a:Q")
    with pytest.raises(ConfigError, match=r"not allowed: https://example\.com/rugs\.csv.*inline"):
        render.chart_svg(chart)


def test_chart_svg_names_an_invalid_spec() -> None:
    with pytest.raises(ConfigError, match=r"Chart cannot be drawn to SVG: .*chart\.to_dict"):
        render.chart_svg({"mark": "no-such-mark"})


def test_chart_output_is_the_svg_as_an_image_data_url_and_an_inlining_script() -> None:
    out = render.chart_output(bars().to_dict())
    assert set(out) == {"text/html", "text/plain"} and out["text/plain"] == "<chart: Rugs & ticks>"
    page = out["text/html"]
    found = re.fullmatch(r'<div class="rugslab-chart"><img alt="Rugs &amp; ticks" '
                         r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)">'
                         r"<script>([^<]*)</script></div>", page)
    assert found is not None
    svg = base64.b64decode(found.group(1)).decode()
    assert len(MARK.findall(svg)) == 3 and svg.count("<title>") == 3
    # the script loads nothing: it decodes the image before it and puts the SVG in its place
    assert "replaceWith" in found.group(2) and "http" not in found.group(2)
    assert render.external_references(page) == []
    assert "cdn" not in page and "vega" not in page


def test_chart_output_ids_are_the_same_on_every_run_and_differ_between_charts() -> None:
    one = render.chart_output(clipped_line().to_dict())["text/html"]
    assert one == render.chart_output(clipped_line().to_dict())["text/html"]
    other = render.chart_output(clipped_line().properties(title="b").to_dict())["text/html"]
    ids = [re.findall(r' id="([^"]*)"', _svg_of(h)) for h in (one, other)]
    assert ids[0] and not set(ids[0]) & set(ids[1])


def test_enable_offline_charts_makes_altair_display_charts_through_chart_output(
        restore_renderer: None) -> None:
    alt.renderers.enable("default")
    render.enable_offline_charts()
    assert alt.renderers.active == render.RENDERER
    bundle = bars()._repr_mimebundle_()
    assert isinstance(bundle, dict)
    html = bundle["text/html"]
    assert html.startswith('<div class="rugslab-chart">') and "cdn.jsdelivr" not in html


def test_html_page_holds_one_inline_svg_per_chart_and_loads_nothing() -> None:
    page = render.html_page("Rugs <report>", {
        "Bars": ["First paragraph.\n\nSecond & last.", bars()],
        "Table and line": [BARS.with_columns(share=pl.Series([0.5, 0.25, None])),
                           clipped_line()],
    })
    assert page.startswith("<!DOCTYPE html>") and "<title>Rugs &lt;report&gt;</title>" in page
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 2 and len(MARK.findall(svgs[0])) == 3 and len(MARK.findall(svgs[1])) == 1
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert render.external_references(page) == []
    assert "Content-Security-Policy\" content=\"default-src 'none'" in page
    assert "<p>First paragraph.</p>\n<p>Second &amp; last.</p>" in page
    assert ('<tr><td class="num">2</td><td class="num">1</td><td class="num">0.25</td></tr>'
            in page)
    assert '<td class="num">3</td><td class="num">2</td><td class="num"></td>' in page
    # two charts' clip paths do not collide
    ids = re.findall(r' id="([^"]*)"', page)
    assert len(ids) == len(set(ids))


def test_html_page_refuses_a_block_of_another_type() -> None:
    with pytest.raises(ConfigError, match=r"Invalid block int in section 'S'"):
        render.html_page("t", {"S": [3]})  # type: ignore[list-item]


def test_external_references_finds_fetched_addresses_and_skips_namespaces() -> None:
    page = ('<img src="https://a.example/b.png"><a href=\'http://x.example\'>x</a>'
            '<svg xmlns="http://www.w3.org/2000/svg"><image xlink:href="//cdn.example/x"/>'
            '<use href="#local"/></svg><div style="background:url(https://z.example/i)">'
            '<img src="data:image/png;base64,AA=="><script src=vega.js></script>'
            '<style>@import "https://f.example/s.css";</style>')
    assert render.external_references(page) == [
        "https://a.example/b.png", "http://x.example", "//cdn.example/x",
        "https://z.example/i", "vega.js", "https://f.example/s.css"]
