"""Charts drawn with no network: altair charts to inline SVG, the notebooks' chart output, and
self-contained HTML pages.

altair's default renderer writes a `<script>` that loads vega from cdn.jsdelivr.net when the
output is shown, so offline, behind a firewall or in an archived notebook every chart is blank
(`Error loading script: https://cdn.jsdelivr.net/npm/vega@6?noext`). Here vl-convert (vega and
vega-lite compiled into its wheel) draws each chart to SVG in Python when the cell runs; the
saved output holds the finished drawing and nothing has to load.

The notebooks' chart output (`chart_output`, altair renderer "rugslab", switched on by
`enable_offline_charts`, which `rugslab.notebook.open_lake` calls) is one HTML fragment:

    <div class="rugslab-chart"><img alt="…" src="data:image/svg+xml;base64,…">
    <script>…</script></div>

JupyterLab shows it in every notebook. An untrusted notebook (executed elsewhere, or opened
again later: trust lives in the opening user's database) has its scripts stripped and its
`image/svg+xml` outputs refused ("Cannot display an untrusted SVG"), but an `<img>` with a data
URL passes the sanitizer. In a trusted notebook the script (a few lines, no library) swaps the
image for the same SVG inline, where each mark's `<title>` (its fields and values, what vega's
tooltip lists) shows on hover. Size: 4/3 of the SVG (base64); 14-76 kB per chart of the
research notebooks, 490 kB for 05's 1,100-point replay chart, the six executed notebooks 1.21 MB
in all (1.04 MB with the CDN renderer). The alternative, vega's JavaScript bundled into the
output, is ~900 kB in every chart, and runs only where the notebook is trusted.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import polars as pl
import vl_convert as vlc

from rugslab.errors import ConfigError

#: The Vega-Lite version altair writes, as vl-convert names it ("v6_4").
VL_VERSION = "_".join(alt.SCHEMA_VERSION.split(".")[:2])
#: Name of `chart_output` among altair's renderers.
RENDERER = "rugslab"

_SVG = "http://www.w3.org/2000/svg"
_XLINK = "http://www.w3.org/1999/xlink"
#: graphics symbols that are not data marks: no tooltip
_NOT_MARKS = {"axis", "legend", "title"}
_URL_REF = re.compile(r"url\(#([^)]*)\)")
#: swaps the <img> before it for its SVG, inline (runs only where the output is trusted)
_INLINE_SCRIPT = (
    "(function(s){var i=s&&s.previousElementSibling;if(!i||i.tagName!=='IMG')return;"
    "var b=atob(i.src.split(',')[1]);var t=new TextDecoder().decode("
    "Uint8Array.from(b,function(c){return c.charCodeAt(0);}));"
    "var v=new DOMParser().parseFromString(t,'image/svg+xml').documentElement;"
    "if(v.tagName==='svg')i.replaceWith(document.importNode(v,true));})"
    "(document.currentScript);"
)
#: what a browser would fetch: src/href-like attributes and CSS url(), quoted or not
_REFERENCE = re.compile(
    r"""(?:\s(?:src|href|xlink:href|srcset|poster|data|action|background)\s*=\s*)"""
    r"""(?:"([^"]*)"|'([^']*)'|([^\s>]+))"""
    r"""|url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)"""
    r"""|@import\s+(?:"([^"]*)"|'([^']*)')""",
    re.IGNORECASE,
)
_PAGE_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem;
       color: #1f2328; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; }
figure.chart { margin: 1rem 0; overflow-x: auto; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #d0d7de; padding: 0.25rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
"""
#: the page may load nothing: no script, no remote style, font or image
_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

ET.register_namespace("", _SVG)
ET.register_namespace("xlink", _XLINK)

Chart = alt.TopLevelMixin | Mapping[str, Any]
#: a block of an HTML page section: a chart, a table, or text (paragraphs split at blank lines)
Block = alt.TopLevelMixin | pl.DataFrame | str


def chart_svg(chart: Chart, *, id_prefix: str = "") -> str:
    """An SVG drawing of an altair chart (or of a Vega-Lite spec as a dict), made here.

    Every data mark gets a `<title>` with its fields and values, one per line (vega's
    description of the mark, its `aria-label`, which lists the tooltip's fields; the title
    replaces the label as the mark's accessible name): a browser shows it on hover when the
    SVG sits inline in a page.

    Args:
        chart: an altair chart, or its `to_dict()`; its data must be inline (altair's
            default), not loaded from a URL.
        id_prefix: starts every `id` in the drawing (clip paths, gradients; renumbered in
            document order, so a drawing is the same on every run) and the references to it,
            so several drawings can sit inline in one page.

    Returns:
        One `<svg>` element (no XML declaration) that references nothing outside itself.

    Raises:
        ConfigError: vl-convert cannot draw the chart (an invalid spec, or data from a URL);
            the message is vl-convert's first line.
    """
    spec = chart.to_dict() if isinstance(chart, alt.TopLevelMixin) else dict(chart)
    try:
        svg = vlc.vegalite_to_svg(spec, vl_version=VL_VERSION, allowed_base_urls=[])
    except ValueError as e:
        detail = " ".join(str(e).splitlines()[:2])
        fix = ("charts must carry their data inline, as altair's default data transformer "
               "does" if "not allowed" in detail else "check the chart's spec, chart.to_dict()")
        raise ConfigError(f"Chart cannot be drawn to SVG: {detail} ({fix}).") from e
    return _finish_svg(svg, id_prefix)


def _finish_svg(svg: str, id_prefix: str) -> str:
    """Tooltips as `<title>` children of the data marks; ids renumbered in document order
    (vega counts clip paths across drawings: "clip7") with `id_prefix`."""
    root = ET.fromstring(svg)
    elements = list(root.iter())
    ids: dict[str, str] = {}
    for el in elements:
        old = el.get("id")
        if old is not None:
            ids[old] = f"{id_prefix}{old.rstrip('0123456789')}{len(ids) + 1}"
    for el in elements:
        label = el.get("aria-label")
        if (label and el.get("role") == "graphics-symbol"
                and el.get("aria-roledescription") not in _NOT_MARKS):
            title = ET.Element(f"{{{_SVG}}}title")
            title.text = label.replace("; ", "\n")
            el.insert(0, title)
            # the <title> is the mark's accessible name too: the label need not be there twice
            del el.attrib["aria-label"]
        for name, value in el.items():
            if name == "id":
                el.set(name, ids[value])
            elif name in ("href", f"{{{_XLINK}}}href") and value[1:] in ids:
                el.set(name, "#" + ids[value[1:]])
            elif "url(#" in value:
                el.set(name, _URL_REF.sub(lambda m: f"url(#{ids.get(m[1], m[1])})", value))
    return ET.tostring(root, encoding="unicode")


def chart_title(spec: Mapping[str, Any]) -> str:
    """The chart's title text ("chart" when it has none)."""
    title = spec.get("title")
    if isinstance(title, Mapping):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(str(t) for t in title)
    return str(title) if title else "chart"


def chart_output(spec: dict[str, Any], **metadata: Any) -> dict[str, str]:
    """altair renderer "rugslab": a chart's notebook output, drawn now, shown with no network.

    Args:
        spec: the Vega-Lite spec altair passes to a renderer.
        metadata: altair's renderer options (ignored: the drawing is complete).

    Returns:
        A mimebundle: `text/html` (the SVG as an `<img>` data URL, which any JupyterLab
        shows, and a script that puts it inline with hover tooltips where the output is
        trusted; see the module docstring) and `text/plain`.

    Raises:
        ConfigError: the chart cannot be drawn (`chart_svg`).
    """
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    svg = chart_svg(spec, id_prefix=f"rugslab-{digest}-")
    title = chart_title(spec)
    data = base64.b64encode(svg.encode()).decode("ascii")
    return {
        "text/html": (f'<div class="rugslab-chart"><img alt="{html.escape(title)}" '
                      f'src="data:image/svg+xml;base64,{data}"><script>{_INLINE_SCRIPT}'
                      "</script></div>"),
        "text/plain": f"<chart: {title}>",
    }


def enable_offline_charts() -> None:
    """Draw every altair chart displayed from now on with `chart_output` (renderer
    "rugslab"). `alt.renderers.enable("default")` goes back to altair's CDN renderer."""
    alt.renderers.register(RENDERER, chart_output)
    alt.renderers.enable(RENDERER)


def external_references(page: str) -> list[str]:
    """Every address in an HTML or SVG text that a browser would fetch: values of `src`,
    `href`, `xlink:href`, `srcset`, `poster`, `data`, `action`, `background`, CSS `url()` and
    `@import`, except same-document (`#…`) and `data:` ones. Namespace declarations
    (`xmlns="http://…"`) and JSON in scripts are not fetched and are not reported."""
    out = []
    for match in _REFERENCE.finditer(page):
        value = next(g for g in match.groups() if g is not None).strip()
        if value and not value.startswith("#") and not value.lower().startswith("data:"):
            out.append(value)
    return out


def html_page(title: str, sections: Mapping[str, Sequence[Block]]) -> str:
    """One self-contained HTML page: charts as inline SVG, tables, text; it loads nothing.

    Args:
        title: the page's title and top heading.
        sections: heading → blocks, in order. A block is an altair chart (drawn with
            `chart_svg`, hover tooltips included), a polars frame (a table of all its rows:
            pass a small one) or text (escaped; paragraphs split at blank lines).

    Returns:
        The page, with no script and a Content-Security-Policy that forbids any load: it opens
        the same with no network.

    Raises:
        ConfigError: a chart cannot be drawn (`chart_svg`), a block is of another type, or the
            page would reference an outside address (e.g. an image mark's URL).
    """
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_PAGE_POLICY}">',
        f"<title>{html.escape(title)}</title>", f"<style>{_PAGE_CSS}</style>", "</head>",
        "<body>", f"<h1>{html.escape(title)}</h1>",
    ]
    charts = 0
    for heading, blocks in sections.items():
        parts += ["<section>", f"<h2>{html.escape(heading)}</h2>"]
        for block in blocks:
            if isinstance(block, alt.TopLevelMixin):
                charts += 1
                svg = chart_svg(block, id_prefix=f"chart{charts}-")
                parts.append(f'<figure class="chart">{svg}</figure>')
            elif isinstance(block, pl.DataFrame):
                parts.append(_table(block))
            elif isinstance(block, str):
                parts += [f"<p>{html.escape(p.strip())}</p>"
                          for p in re.split(r"\n\s*\n", block) if p.strip()]
            else:
                raise ConfigError(f"Invalid block {type(block).__name__} in section "
                                  f"{heading!r}: expected an altair chart, a polars DataFrame "
                                  "or str.")
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    page = "\n".join(parts)
    outside = external_references(page)
    if outside:
        raise ConfigError(f"The page would load {outside[:3]}: a self-contained page may "
                          "reference nothing outside itself (draw images into the chart data).")
    return page


def _table(frame: pl.DataFrame) -> str:
    numeric = [dtype.is_numeric() for dtype in frame.dtypes]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows():
        cells = "".join(
            f'<td class="num">{_cell(v)}</td>' if num else f"<td>{_cell(v)}</td>"
            for v, num in zip(row, numeric, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
            "</table>")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.6g}"
    return html.escape(str(value))
