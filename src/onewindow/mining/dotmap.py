"""The process map laid out by Graphviz ``dot`` and drawn as our own SVG (流程图布局).

``dot`` (a layered layout engine, Debian package ``graphviz``) runs as a subprocess with
``-Tjson``; we read back where it put every node, edge spline, arrowhead and edge label
and draw them ourselves, so the SVG carries classes and links and no inline style.

Node sizes are ours (``fixedsize``: the box fits our own wrapping of the activity name);
edge labels are dot's ``label``s, which it lays out as nodes of their own, so they never
cover a node or another label. The drawn edge-label text is squeezed to the width dot
measured (``textLength``), so the browser's font cannot make it wider than dot planned.

The PNG export is dot's own drawing (``-Tpng``, cairo) of the same graph with colours and
node texts added, attributes that do not move anything: the same positions as the SVG.

Sliders as in Disco: ``activities`` keeps the most frequent share of activities (by
events), ``paths`` the most frequent share of the edges between them, every kept activity
keeping its strongest way in and out so the map stays connected; 100 % shows everything.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from functools import lru_cache
from html import escape
from typing import Any, Final, Literal

from onewindow.kit.errors import OneWindowError
from onewindow.mining.layout import human_duration
from onewindow.mining.maps import ProcessMap

__all__ = [
    "DotMissing",
    "LaidOutMap",
    "MapEdge",
    "MapNode",
    "Measure",
    "dot_path",
    "lay_out",
    "png_source",
    "render_png",
    "render_svg",
    "select",
]

Measure = Literal["cases", "events", "median", "mean", "p90", "total"]
FREQUENCY: Final = ("cases", "events")
PERFORMANCE: Final = ("median", "mean", "p90", "total")
START: Final = "\x00start"
END: Final = "\x00end"
POINTS_PER_INCH: Final = 72.0
NODE_FONT: Final = 12.0  # px in the SVG, = points in dot (1 pt = 1 px at 72 dpi)
EDGE_FONT: Final = 10.0
NODE_MAX_EM: Final = 11.0
HEAT_STEPS: Final = 6
DOT_TIMEOUT_S: Final = 60
# Big maps (hundreds of edges, each label a node of its own) take dot a minute with its
# default effort on crossing minimisation; these limits bring that to seconds.
FAST_ABOVE: Final = 120
FAST: Final = " mclimit=0.3 nslimit=1 nslimit1=1"


class DotMissing(OneWindowError):
    """Graphviz is not installed (or failed): the page says so instead of a 500."""

    code = "mining.dot_missing"
    status = 503


def dot_path() -> str | None:
    return shutil.which("dot")


@dataclass(frozen=True)
class MapNode:
    key: str  # activity name, or START / END
    count: int  # events (or cases when the measure is cases)
    metric: float | None  # the shown figure (count or seconds)
    heat: int  # 0 … HEAT_STEPS-1
    timed: bool = False  # metric is seconds of work (performance view, start times known)


@dataclass(frozen=True)
class MapEdge:
    source: str
    target: str
    count: int
    metric: float | None
    heat: int


@dataclass(frozen=True)
class Selection:
    nodes: list[MapNode]
    edges: list[MapEdge]
    hidden_activities: int
    hidden_edges: int
    total_activities: int
    total_edges: int


def _metric_column(measure: Measure) -> str:
    return {
        "cases": "cases",
        "events": "count",
        "median": "median",
        "mean": "mean",
        "p90": "p90",
        "total": "sum",
    }[measure]


def _heat(value: float | None, top: float, log: bool) -> int:
    if value is None or math.isnan(value) or top <= 0 or value <= 0:
        return 0
    share = math.log1p(value) / math.log1p(top) if log else value / top
    return max(0, min(HEAT_STEPS - 1, int(share * (HEAT_STEPS - 1) + 0.5)))


def select(
    pm: ProcessMap, *, activities: int = 100, paths: int = 100, measure: Measure = "cases"
) -> Selection:
    """The activities and edges the sliders keep (percentages, 0–100; at least one node)."""
    all_nodes = [
        (str(a), int(e), int(c))
        for a, e, c in pm.nodes.select("activity", "events", "cases").iter_rows()
    ]
    keep_n = max(1, math.ceil(len(all_nodes) * max(0, min(100, activities)) / 100))
    kept = all_nodes[:keep_n] if all_nodes else []
    names = {a for a, _, _ in kept}
    column = _metric_column(measure)
    rows: list[tuple[str, str, int, float | None]] = []
    for row in pm.edges.iter_rows(named=True):
        if row["source"] in names and row["target"] in names:
            count = int(row["cases"] if measure == "cases" else row["count"])
            value = row[column]
            rows.append((str(row["source"]), str(row["target"]), count, value))
    for a, c in pm.starts.iter_rows():
        if a in names:
            rows.append((START, str(a), int(c), float(c) if measure in FREQUENCY else None))
    for a, c in pm.ends.iter_rows():
        if a in names:
            rows.append((str(a), END, int(c), float(c) if measure in FREQUENCY else None))
    rows.sort(key=lambda r: (-r[2], r[0], r[1]))
    chosen: dict[tuple[str, str], tuple[str, str, int, float | None]] = {}
    for name, _, _ in kept:  # the strongest way in and out of every kept activity
        for r in rows:
            if r[1] == name:
                chosen[r[0], r[1]] = r
                break
        for r in rows:
            if r[0] == name:
                chosen[r[0], r[1]] = r
                break
    wanted = math.ceil(len(rows) * max(0, min(100, paths)) / 100)
    for r in rows[:wanted]:
        chosen.setdefault((r[0], r[1]), r)
    edges_raw = sorted(chosen.values(), key=lambda r: (-r[2], r[0], r[1]))
    performance = measure in PERFORMANCE
    top_edge = max(
        (float(r[3]) for r in edges_raw if r[3] is not None and not math.isnan(r[3])),
        default=0.0,
    )
    edges = [MapEdge(s, t, c, v, _heat(v, top_edge, performance)) for s, t, c, v in edges_raw]
    counts = {a: (c if measure == "cases" else e) for a, e, c in kept}
    top_node = max(counts.values(), default=0)
    nodes = [
        MapNode(a, counts[a], float(counts[a]), _heat(counts[a], top_node, False))
        for a, _, _ in kept
    ]
    timed = _service_times(pm, measure, names) if performance else {}
    if timed:  # performance: how long the work on each activity took (start times known)
        slowest = max(timed.values())
        nodes = [
            replace(
                n, metric=timed.get(n.key), heat=_heat(timed.get(n.key), slowest, True), timed=True
            )
            for n in nodes
        ]
    if any(e.source == START for e in edges):
        nodes.insert(0, MapNode(START, pm.cases, None, 0))
    if any(e.target == END for e in edges):
        nodes.append(MapNode(END, pm.cases, None, 0))
    return Selection(
        nodes,
        edges,
        hidden_activities=len(all_nodes) - len(kept),
        hidden_edges=len(rows) - len(edges),
        total_activities=len(all_nodes),
        total_edges=len(rows),
    )


def _service_times(pm: ProcessMap, measure: Measure, names: set[str]) -> dict[str, float]:
    """Seconds of work per activity by ``measure`` (total: mean x events); empty when the
    log has no start times."""
    out: dict[str, float] = {}
    for row in pm.nodes.iter_rows(named=True):
        if row["activity"] not in names or row["service_mean"] is None:
            continue
        value = (
            row["service_mean"] * row["events"] if measure == "total" else row[f"service_{measure}"]
        )
        if value is not None and not math.isnan(value):
            out[str(row["activity"])] = float(value)
    return out


# --------------------------------------------------------------------------- labels


def _em(text: str) -> float:
    """Rough rendered width in em: CJK characters are full-width, Latin about half."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.58 for ch in text)


def wrap(text: str, max_em: float = NODE_MAX_EM) -> list[str]:
    """The activity name in at most three lines (words kept whole where there are spaces)."""
    lines: list[str] = []
    current = ""
    tokens = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    for token in tokens:
        candidate = f"{current}{joiner}{token}" if current else token
        if _em(candidate) <= max_em or not current:
            current = candidate
        else:
            lines.append(current)
            current = token
    if current:
        lines.append(current)
    if len(lines) > 3:
        lines = [*lines[:2], lines[2] + "…"]
    out = []
    for line in lines:  # a single long word: cut by width
        while _em(line) > max_em + 0.5:
            line = line[:-2] + "…"
        out.append(line)
    return out


def format_metric(value: float | None, measure: Measure) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if measure in FREQUENCY:
        return f"{int(round(value)):,}"
    return human_duration(value)


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Box:
    x: float  # left, SVG coordinates (y down)
    y: float  # top
    w: float
    h: float

    def intersects(self, other: Box) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


@dataclass(frozen=True)
class PlacedNode:
    node: MapNode
    box: Box
    lines: list[str]
    figure: str


@dataclass(frozen=True)
class PlacedEdge:
    edge: MapEdge
    path: str  # SVG path data
    arrow: list[tuple[float, float]]
    label: str
    label_box: Box | None
    width: float  # stroke width


@dataclass
class LaidOutMap:
    width: float
    height: float
    nodes: list[PlacedNode] = field(default_factory=list)
    edges: list[PlacedEdge] = field(default_factory=list)
    selection: Selection | None = None
    measure: Measure = "cases"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _node_size(node: MapNode, lines: list[str]) -> tuple[float, float]:
    if node.key in (START, END):
        return 22.0, 22.0
    widest = max((_em(line) for line in lines), default=4.0)
    width = max(96.0, widest * NODE_FONT + 22.0)
    height = (len(lines) + 1) * (NODE_FONT + 3) + 12.0
    return width, height


def _stroke(count: int, top: int) -> float:
    return 1.0 + 5.0 * math.sqrt(count / top) if top else 1.0


def _dot_source(
    sel: Selection,
    labels: dict[tuple[str, str], str],
    painted: dict[str, str] | None = None,
) -> tuple[str, list[str]]:
    """The graph dot lays out. ``painted`` (node key → its label in the PNG) adds colours,
    stroke widths and node texts: attributes that draw, never that move (the nodes are
    ``fixedsize``; edge labels and fonts are the same), so the PNG has the page's layout."""
    ids = [f"n{i}" for i in range(len(sel.nodes))]
    index = {n.key: ids[i] for i, n in enumerate(sel.nodes)}
    out = [
        "digraph M {",
        "graph [rankdir=TB nodesep=0.35 ranksep=0.45 outputorder=edgesfirst "
        f'fontname="Helvetica"{FAST if len(sel.edges) > FAST_ABOVE else ""}];',
        'node [shape=box fixedsize=true label="" fontname="Helvetica"];',
        f'edge [fontname="Helvetica" fontsize={EDGE_FONT:g} arrowsize=0.7];',
    ]
    if painted is not None:
        out.extend(PNG_DEFAULTS)
    for i, node in enumerate(sel.nodes):
        w, h = _node_size(node, wrap(node.key))
        shape = "circle" if node.key in (START, END) else "box"
        rank = ""
        if node.key == START:
            rank = " group=s"
        if painted is not None:
            rank += _node_paint(node, painted.get(node.key, ""))
        out.append(
            f"{ids[i]} [shape={shape} width={w / POINTS_PER_INCH:.3f} "
            f"height={h / POINTS_PER_INCH:.3f}{rank}];"
        )
    top = max((e.count for e in sel.edges), default=1)
    for e in sel.edges:
        weight = max(1, round(10 * e.count / top))
        paint = ""
        if painted is not None:
            colour = EDGE_COLOURS[e.heat]
            paint = f' color="{colour}" penwidth={_stroke(e.count, top):.1f}'
            paint += f' fontcolor="{"#8c1b1b" if e.heat == HEAT_STEPS - 1 else "#23364f"}"'
        out.append(
            f"{index[e.source]} -> {index[e.target]} "
            f"[label={_quote(labels[e.source, e.target])} weight={weight}{paint}];"
        )
    if any(n.key == START for n in sel.nodes):
        out.append(f"{{rank=min; {index[START]};}}")
    if any(n.key == END for n in sel.nodes):
        out.append(f"{{rank=max; {index[END]};}}")
    out.append("}")
    return "\n".join(out), ids


def _missing() -> DotMissing:
    return DotMissing(
        "Graphviz (dot) is not installed on the server: install the Debian package "
        "graphviz (make graphviz) to draw process maps",
        message_zh="服务器未安装 Graphviz（dot），无法绘制流程图：请安装 Debian 软件包 graphviz"
        "（make graphviz）",
    )


def _failed(err: object) -> DotMissing:
    return DotMissing(f"Graphviz (dot) failed: {err}", message_zh=f"Graphviz（dot）布局失败：{err}")


@lru_cache(maxsize=32)
def _run_dot(source: str) -> dict[str, Any]:
    """dot's layout of ``source``; the same map asked again (a slider moved back, the
    measure switched) is laid out once."""
    exe = dot_path()
    if exe is None:
        raise _missing()
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program, the graph on stdin
            [exe, "-Tjson"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DotMissing(
            f"Graphviz (dot) could not lay out the map: {exc}",
            message_zh=f"Graphviz（dot）无法完成流程图布局：{exc}",
        ) from exc
    if done.returncode != 0:
        raise _failed(done.stderr.decode("utf-8", "replace")[:300])
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _points(pos: str) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in (p.split(",")[:2] for p in pos.split())]


def lay_out(
    pm: ProcessMap, *, activities: int = 100, paths: int = 100, measure: Measure = "cases"
) -> LaidOutMap:
    """Select, lay out with dot and return every shape in SVG coordinates.

    Raises:
        DotMissing: Graphviz is not installed or failed.
    """
    sel = select(pm, activities=activities, paths=paths, measure=measure)
    if not sel.nodes:
        return LaidOutMap(10.0, 10.0, selection=sel, measure=measure)
    labels = {(e.source, e.target): format_metric(e.metric, measure) for e in sel.edges}
    source, ids = _dot_source(sel, labels)
    graph = _run_dot(source)
    x0, y0, x1, y1 = (float(v) for v in graph["bb"].split(","))
    pad = 8.0
    height = y1 - y0

    def sx(x: float) -> float:
        return x - x0 + pad

    def sy(y: float) -> float:
        return height - (y - y0) + pad

    by_id = {obj["name"]: obj for obj in graph.get("objects", [])}
    laid = LaidOutMap(x1 - x0 + 2 * pad, height + 2 * pad, selection=sel, measure=measure)
    gvid_to_node: dict[int, MapNode] = {}
    for node, nid in zip(sel.nodes, ids, strict=True):
        obj = by_id[nid]
        gvid_to_node[int(obj["_gvid"])] = node
        cx, cy = _points(obj["pos"])[0]
        w = float(obj["width"]) * POINTS_PER_INCH
        h = float(obj["height"]) * POINTS_PER_INCH
        box = Box(sx(cx) - w / 2, sy(cy) - h / 2, w, h)
        lines = [] if node.key in (START, END) else wrap(node.key)
        figure = format_metric(node.metric, measure if node.timed else "events")
        laid.nodes.append(PlacedNode(node, box, lines, figure))
    top = max((e.count for e in sel.edges), default=1)
    keyed = {(e.source, e.target): e for e in sel.edges}
    for obj in graph.get("edges", []):
        src = gvid_to_node[int(obj["tail"])].key
        dst = gvid_to_node[int(obj["head"])].key
        edge = keyed[src, dst]
        path = ""
        for op in obj.get("_draw_", []):
            if op.get("op") == "b":
                pts = [(sx(x), sy(y)) for x, y in op["points"]]
                path = f"M{pts[0][0]:.1f},{pts[0][1]:.1f} " + " ".join(
                    f"C{pts[i][0]:.1f},{pts[i][1]:.1f} {pts[i + 1][0]:.1f},{pts[i + 1][1]:.1f} "
                    f"{pts[i + 2][0]:.1f},{pts[i + 2][1]:.1f}"
                    for i in range(1, len(pts) - 2, 3)
                )
        arrow: list[tuple[float, float]] = []
        for op in obj.get("_hdraw_", []):
            if op.get("op") in ("P", "p"):
                arrow = [(sx(x), sy(y)) for x, y in op["points"]]
        label_box = None
        text = labels[src, dst]
        for op in obj.get("_ldraw_", []):
            if op.get("op") == "T":
                lw = float(op["width"])
                if "lp" in obj:
                    lx, ly = _points(obj["lp"])[0]
                else:
                    lx, ly = op["pt"]
                label_box = Box(sx(lx) - lw / 2, sy(ly) - EDGE_FONT * 0.6, lw, EDGE_FONT * 1.2)
        width = _stroke(edge.count, top)
        laid.edges.append(PlacedEdge(edge, path, arrow, text, label_box, width))
    return laid


# --------------------------------------------------------------------------- PNG

# The page's colours (analysis.css), by heat step.
NODE_FILLS: Final = ("#eef3fa", "#eef3fa", "#dde8f6", "#cfe0f5", "#b7d1f0", "#9fc2ea")
EDGE_COLOURS: Final = ("#8a99ad", "#8a99ad", "#7389a8", "#c99a3c", "#d6782a", "#c62d2d")
PNG_FONT: Final = "Noto Sans CJK SC"
PNG_DPI: Final = 144.0  # twice the SVG's scale: crisp when printed or zoomed
PNG_MAX_PX: Final = 16000  # a larger side is drawn at a lower resolution (cairo's limits)
PNG_DEFAULTS: Final = (
    f'graph [bgcolor="white" pad={8.0 / POINTS_PER_INCH:.4f}];',
    f'node [style="rounded,filled" color="#4a6a94" fontcolor="#13243a" fontname="{PNG_FONT}" '
    f"fontsize={NODE_FONT:g}];",
)


def _node_paint(node: MapNode, label: str) -> str:
    if node.key in (START, END):
        colour = "#3f8f4f" if node.key == START else "#8f3f3f"
        return f' style=filled fillcolor="{colour}" color="{colour}"'
    return f' fillcolor="{NODE_FILLS[node.heat]}" label={label}'


def _node_label(node: PlacedNode) -> str:
    """The node's lines and its figure, as a quoted dot label (``\\n``: centred lines)."""
    lines = [*node.lines, node.figure]
    return '"' + "\\n".join(_quote(line)[1:-1] for line in lines) + '"'


def png_source(laid: LaidOutMap) -> str:
    """The dot source of ``laid`` with the page's colours and node texts added."""
    sel = laid.selection
    if sel is None:
        raise ValueError("a laid-out map without its selection cannot be drawn again")
    labels = {(pe.edge.source, pe.edge.target): pe.label for pe in laid.edges}
    painted = {pn.node.key: _node_label(pn) for pn in laid.nodes}
    return _dot_source(sel, labels, painted)[0]


def png_dpi(laid: LaidOutMap) -> float:
    """PNG_DPI, lowered so that neither side is over PNG_MAX_PX pixels."""
    side = max(laid.width, laid.height, 1.0)
    return min(PNG_DPI, PNG_MAX_PX * POINTS_PER_INCH / side)


def render_png(laid: LaidOutMap) -> bytes:
    """The map as a PNG drawn by dot (cairo) from the same graph as the SVG, hence the same
    positions; ``png_dpi(laid) / 72`` pixels per SVG unit.

    Raises:
        DotMissing: Graphviz is not installed or failed.
    """
    if not laid.nodes:
        raise ValueError("an empty map has no picture")
    source = png_source(laid)
    exe = dot_path()
    if exe is None:
        raise _missing()
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program, the graph on stdin
            [exe, "-Tpng", f"-Gdpi={png_dpi(laid):.2f}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _failed(exc) from exc
    if done.returncode != 0 or not done.stdout.startswith(PNG_MAGIC):
        raise _failed(done.stderr.decode("utf-8", "replace")[:300])
    return done.stdout


PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- SVG


def render_svg(
    laid: LaidOutMap,
    *,
    node_href: Any = None,
    edge_href: Any = None,
    title: str = "",
    standalone: bool = False,
) -> str:
    """The map as an SVG element: classes for colours (``an-h0``…``an-h5`` heat), SVG
    presentation attributes for geometry, an ``<a>`` round every clickable shape.

    ``node_href(activity)`` / ``edge_href(source, target)`` give the links (None: none).
    ``standalone`` adds the XML header and a ``<style>`` so the exported file has colours.
    """
    w, h = laid.width, laid.height
    out: list[str] = []
    if standalone:
        out.append('<?xml version="1.0" encoding="UTF-8"?>')
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="an-map" viewBox="0 0 {w:.0f} {h:.0f}" '
        f'width="{w:.0f}" height="{h:.0f}" role="img" aria-label="{escape(title)}">'
    )
    if standalone:
        out.append(f"<style>{STANDALONE_CSS}</style>")
    out.append('<g class="an-viewport">')
    for pe in laid.edges:
        e = pe.edge
        href = (
            edge_href(e.source, e.target)
            if edge_href and START not in (e.source,) and e.target != END
            else None
        )
        name = f"{_display(e.source)} → {_display(e.target)}"
        inner = [f"<title>{escape(name)}: {escape(pe.label)}</title>"]
        inner.append(
            f'<path class="an-edge-line" d="{pe.path}" fill="none" stroke-width="{pe.width:.1f}"/>'
        )
        if pe.arrow:
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in pe.arrow)
            inner.append(f'<polygon class="an-arrow" points="{pts}"/>')
        if pe.label_box is not None:
            b = pe.label_box
            inner.append(
                f'<rect class="an-elabel-bg" x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" '
                f'height="{b.h:.1f}" rx="2"/>'
            )
            inner.append(
                f'<text class="an-elabel" x="{b.x + b.w / 2:.1f}" '
                f'y="{b.y + b.h / 2 + EDGE_FONT * 0.35:.1f}" '
                f'text-anchor="middle" font-size="{EDGE_FONT:g}" textLength="{b.w:.1f}" '
                f'lengthAdjust="spacingAndGlyphs">{escape(pe.label)}</text>'
            )
        cls = f"an-edge an-h{e.heat}"
        attrs = f'data-source="{escape(e.source)}" data-target="{escape(e.target)}"'
        body = "".join(inner)
        if href:
            out.append(f'<a class="{cls}" href="{escape(href)}" {attrs}>{body}</a>')
        else:
            out.append(f'<g class="{cls} an-edge-fixed">{body}</g>')
    for pn in laid.nodes:
        n, b = pn.node, pn.box
        if n.key in (START, END):
            kind = "an-start" if n.key == START else "an-end"
            out.append(
                f'<g class="an-node {kind}"><title>{"start" if n.key == START else "end"}</title>'
                f'<circle cx="{b.x + b.w / 2:.1f}" cy="{b.y + b.h / 2:.1f}" r="{b.w / 2:.1f}"/></g>'
            )
            continue
        inner = [f"<title>{escape(n.key)}: {escape(pn.figure)}</title>"]
        inner.append(
            f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="5"/>'
        )
        line_h = NODE_FONT + 3
        first = b.y + (b.h - (len(pn.lines) + 1) * line_h) / 2 + NODE_FONT
        cx = b.x + b.w / 2
        tspans = "".join(
            f'<tspan x="{cx:.1f}" y="{first + i * line_h:.1f}">{escape(line)}</tspan>'
            for i, line in enumerate(pn.lines)
        )
        inner.append(
            f'<text class="an-nlabel" text-anchor="middle" font-size="{NODE_FONT:g}">'
            f"{tspans}</text>"
        )
        inner.append(
            f'<text class="an-nfig" x="{cx:.1f}" y="{first + len(pn.lines) * line_h:.1f}" '
            f'text-anchor="middle" font-size="{NODE_FONT - 1:g}">{escape(pn.figure)}</text>'
        )
        cls = f"an-node an-f{n.heat}"
        href = node_href(n.key) if node_href else None
        body = "".join(inner)
        if href:
            out.append(
                f'<a class="{cls}" href="{escape(href)}" data-activity="{escape(n.key)}">{body}</a>'
            )
        else:
            out.append(f'<g class="{cls}" data-activity="{escape(n.key)}">{body}</g>')
    out.append("</g></svg>")
    return "".join(out)


def _display(key: str) -> str:
    return "▶" if key == START else "■" if key == END else key


# Colours of the exported file (the page itself uses analysis.css, same values).
STANDALONE_CSS: Final = (
    "text{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif}"
    ".an-node rect{fill:#eef3fa;stroke:#4a6a94}.an-nlabel{fill:#13243a}.an-nfig{fill:#4a5a70}"
    ".an-f3 rect,.an-f4 rect{fill:#cfe0f5}.an-f5 rect{fill:#9fc2ea}"
    ".an-start circle{fill:#3f8f4f}.an-end circle{fill:#8f3f3f}"
    ".an-edge-line{stroke:#7d8ea6}.an-arrow{fill:#7d8ea6}.an-elabel{fill:#23364f}"
    ".an-elabel-bg{fill:#fff;fill-opacity:.85}"
    ".an-h3 .an-edge-line,.an-h4 .an-edge-line{stroke:#d6952a}"
    ".an-h3 .an-arrow,.an-h4 .an-arrow{fill:#d6952a}"
    ".an-h5 .an-edge-line{stroke:#c62d2d}.an-h5 .an-arrow{fill:#c62d2d}"
)
