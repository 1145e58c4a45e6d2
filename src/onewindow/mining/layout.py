"""A layered, left-to-right drawing of a process map as inline SVG (no scripts, no fonts).

Layers come from longest paths from the start after the back edges of a depth-first
search (heaviest edges first) are set aside; order within a layer from a few barycentre
sweeps. Forward edges are curves between layers; back edges (loops, rework) arc below.
Edge width grows with frequency, colour with mean duration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Final

from onewindow.mining.maps import ProcessMap

__all__ = ["MapDrawing", "draw_map", "human_duration"]

START: Final = "\x00start"
END: Final = "\x00end"
NODE_W: Final = 150
NODE_H: Final = 54
GAP_X: Final = 70
GAP_Y: Final = 30
PAD: Final = 30


def human_duration(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    s = abs(seconds)
    if s < 60:
        text = f"{s:.0f} s"
    elif s < 3600:
        text = f"{s / 60:.0f} min"
    elif s < 86400:
        text = f"{s / 3600:.1f} h"
    else:
        text = f"{s / 86400:.1f} d"
    return f"-{text}" if seconds < 0 else text


def _width(text: str) -> float:
    """Rough rendered width in em: CJK characters are full-width."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.56 for ch in text)


def _lines(text: str, max_em: float) -> list[str]:
    """At most two lines: break at a space when there is one, else by width."""
    if _width(text) <= max_em:
        return [text]
    first = ""
    words = text.split(" ")
    if len(words) > 1:
        for i in range(len(words), 0, -1):
            head = " ".join(words[:i])
            if _width(head) <= max_em:
                return [head, _fit(" ".join(words[i:]), max_em)]
    for ch in text:
        if _width(first + ch) > max_em:
            break
        first += ch
    return [first, _fit(text[len(first) :], max_em)]


def _fit(text: str, max_em: float) -> str:
    if _width(text) <= max_em:
        return text
    out = ""
    for ch in text:
        if _width(out + ch) > max_em - 1:
            return out + "…"
        out += ch
    return out


@dataclass(frozen=True)
class MapDrawing:
    svg: str
    shown_activities: int
    shown_edges: int
    hidden_activities: int
    hidden_edges: int


def _select(
    pm: ProcessMap, max_nodes: int, max_edges: int
) -> tuple[list[str], list[tuple[str, str, int, float | None]]]:
    nodes = [str(a) for a in pm.nodes["activity"].to_list()[:max_nodes]]
    keep = set(nodes)
    edges = [
        (str(s), str(t), int(c), m)
        for s, t, c, m in pm.edges.select("source", "target", "count", "mean").iter_rows()
        if s in keep and t in keep
    ]
    edges += [(START, str(a), int(c), None) for a, c in pm.starts.iter_rows() if a in keep]
    edges += [(str(a), END, int(c), None) for a, c in pm.ends.iter_rows() if a in keep]
    edges.sort(key=lambda e: -e[2])
    chosen: dict[tuple[str, str], tuple[str, str, int, float | None]] = {}
    # Every node keeps its strongest way in and out, so the drawing stays connected.
    for node in nodes:
        for edge in edges:
            if edge[1] == node:
                chosen[edge[0], edge[1]] = edge
                break
        for edge in edges:
            if edge[0] == node:
                chosen[edge[0], edge[1]] = edge
                break
    for edge in edges:
        if len(chosen) >= max_edges:
            break
        chosen.setdefault((edge[0], edge[1]), edge)
    return nodes, sorted(chosen.values(), key=lambda e: -e[2])


def _layers(
    nodes: list[str], edges: list[tuple[str, str, int, float | None]]
) -> tuple[dict[str, int], set[tuple[str, str]]]:
    out: dict[str, list[str]] = {n: [] for n in [START, *nodes, END]}
    for s, t, _, _ in edges:  # already heaviest first
        out[s].append(t)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}

    def dfs(root: str) -> None:
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, i = stack.pop()
            if i < len(out[node]):
                stack.append((node, i + 1))
                nxt = out[node][i]
                if state.get(nxt) == 1:
                    back.add((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[node] = 2

    dfs(START)
    for n in nodes:
        if n not in state:
            dfs(n)
    layer = {n: 0 for n in out}
    # Longest path over the acyclic rest (Kahn order).
    indeg = {n: 0 for n in out}
    fwd = [(s, t) for s, t, _, _ in edges if (s, t) not in back and s != t]
    for _, t in fwd:
        indeg[t] += 1
    queue = [n for n in out if indeg[n] == 0]
    while queue:
        n = queue.pop()
        for s, t in fwd:
            if s == n:
                layer[t] = max(layer[t], layer[n] + 1)
                indeg[t] -= 1
                if indeg[t] == 0:
                    queue.append(t)
    layer[START] = 0
    last = max([layer[n] for n in nodes], default=0) + 1
    layer[END] = last
    for n in nodes:
        layer[n] = max(layer[n], 1)
    return layer, back


def _order(
    layer: dict[str, int], edges: list[tuple[str, str, int, float | None]], sweeps: int = 6
) -> dict[int, list[str]]:
    rows: dict[int, list[str]] = {}
    for n, li in sorted(layer.items(), key=lambda kv: kv[1]):
        rows.setdefault(li, []).append(n)
    neighbours: dict[str, list[tuple[str, int]]] = {n: [] for n in layer}
    for s, t, c, _ in edges:
        neighbours[s].append((t, c))
        neighbours[t].append((s, c))
    for sweep in range(sweeps):
        keys = sorted(rows) if sweep % 2 == 0 else sorted(rows, reverse=True)
        for li in keys:
            pos = {n: i for row in rows.values() for i, n in enumerate(row)}

            def centre(n: str, li: int = li, pos: dict[str, int] = pos) -> float:
                near = [(pos[m], c) for m, c in neighbours[n] if layer[m] != li]
                if not near:
                    return float(pos[n])
                weight = sum(c for _, c in near)
                return sum(p * c for p, c in near) / weight

            rows[li] = sorted(rows[li], key=centre)
    return rows


OVERLAP_COLOUR: Final = "#2f9c8f"


def _colour(mean: float | None, slowest: float) -> str:
    """Edge colour on a log scale of the mean wait; a negative mean (the next activity
    began before this one ended: overlapping work, seen with start timestamps) gets a
    colour of its own instead of a place on the scale."""
    if mean is None or math.isnan(mean):
        return "#8a99ad"
    if mean < 0:
        return OVERLAP_COLOUR
    if slowest <= 0:
        return "#8a99ad"
    share = max(0.0, min(1.0, math.log1p(mean) / math.log1p(slowest)))
    # slate blue → amber → red as edges get slower
    stops = [(0.0, (96, 125, 160)), (0.6, (222, 150, 40)), (1.0, (200, 45, 45))]
    for (a, ca), (b, cb) in zip(stops, stops[1:], strict=False):
        if share <= b:
            f = (share - a) / (b - a) if b > a else 0.0
            r, g, bl = (round(ca[k] + (cb[k] - ca[k]) * f) for k in range(3))
            return f"#{r:02x}{g:02x}{bl:02x}"
    return "#c82d2d"


def draw_map(pm: ProcessMap, *, max_nodes: int = 24, max_edges: int = 48) -> MapDrawing:
    """The map as an SVG element sized to its content (scales to its container)."""
    nodes, edges = _select(pm, max_nodes, max_edges)
    if not nodes:
        empty = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
        return MapDrawing(empty, 0, 0, 0, 0)
    layer, back = _layers(nodes, edges)
    rows = _order(layer, edges)
    tallest = max(len(r) for r in rows.values())
    height = PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y + 70
    xy: dict[str, tuple[float, float]] = {}
    for li, row in rows.items():
        span = len(row) * NODE_H + (len(row) - 1) * GAP_Y
        top = (height - 70 - span) / 2
        for i, n in enumerate(row):
            xy[n] = (PAD + li * (NODE_W + GAP_X), top + i * (NODE_H + GAP_Y))
    width = PAD * 2 + (max(rows) + 1) * (NODE_W + GAP_X) - GAP_X
    counts = dict(zip(pm.nodes["activity"].to_list(), pm.nodes["events"].to_list(), strict=True))
    busiest = max(counts.values(), default=1)
    top_edge = max((c for _, _, c, _ in edges), default=1)
    slowest = max((m for _, _, _, m in edges if m is not None), default=0.0)

    parts: list[str] = []
    labels: list[str] = []
    for s, t, c, mean in sorted(edges, key=lambda e: e[2]):
        (sx, sy), (tx, ty) = xy[s], xy[t]
        stroke = 1.2 + 7.0 * math.sqrt(c / top_edge)
        colour = _colour(mean, slowest)
        title = escape(f"{_name(s)} → {_name(t)}: {c} × · mean {human_duration(mean)}")
        if (s, t) in back or layer[t] <= layer[s]:
            if s == t:
                x0, y0 = sx + NODE_W * 0.7, sy + NODE_H
                d = f"M{x0:.1f},{y0:.1f} c 0,34 -{NODE_W * 0.4:.1f},34 -{NODE_W * 0.4:.1f},0"
                lx, ly = x0 - NODE_W * 0.2, y0 + 30
            else:
                x0, y0 = sx + NODE_W / 2, sy + NODE_H
                x1, y1 = tx + NODE_W / 2, ty + NODE_H
                dip = max(y0, y1) + 40 + 12 * abs(layer[s] - layer[t])
                d = (
                    f"M{x0:.1f},{y0:.1f} C{x0:.1f},{dip:.1f} "
                    f"{x1:.1f},{dip:.1f} {x1:.1f},{y1 + 6:.1f}"
                )
                lx, ly = (x0 + x1) / 2, dip - 8
            dash = ' stroke-dasharray="6 4"'
        else:
            x0, y0 = sx + NODE_W, sy + NODE_H / 2
            x1, y1 = tx, ty + NODE_H / 2
            mid = (x0 + x1) / 2
            d = f"M{x0:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1 - 6:.1f},{y1:.1f}"
            lx, ly = mid, (y0 + y1) / 2 - 4
            dash = ""
        parts.append(
            f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{stroke:.1f}" '
            f'stroke-opacity="0.78" marker-end="url(#arrow)"{dash}><title>{title}</title></path>'
        )
        text = f"{c}" if mean is None else f"{c} · {human_duration(mean)}"
        labels.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" class="el" text-anchor="middle">{escape(text)}</text>'
        )

    boxes: list[str] = []
    for n, (x, y) in xy.items():
        if n in (START, END):
            cx, cy = x + NODE_W / 2, y + NODE_H / 2
            label = "开始 start" if n == START else "结束 end"
            shape = f'<circle cx="{cx}" cy="{cy}" r="15" class="{"st" if n == START else "en"}"/>'
            boxes.append(
                f'<g>{shape}<text x="{cx}" y="{cy + 32}" class="nl" text-anchor="middle">'
                f"{label}</text></g>"
            )
            continue
        heat = counts.get(n, 0) / busiest
        fill = f"rgba(37, 99, 171, {0.12 + 0.78 * heat:.2f})"
        ink = "#fff" if heat > 0.45 else "#0f2744"
        lines = _lines(n, 12.0)
        top = 19 if len(lines) == 2 else 25
        boxes.append(
            f"<g><title>{escape(n)}: {counts.get(n, 0)} events</title>"
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8" '
            f'fill="{fill}" stroke="#1d4f8a" stroke-width="1.2"/>'
            + "".join(
                f'<text x="{x + NODE_W / 2}" y="{y + top + 15 * i}" text-anchor="middle" '
                f'class="nt" fill="{ink}">{escape(line)}</text>'
                for i, line in enumerate(lines)
            )
            + f'<text x="{x + NODE_W / 2}" y="{y + NODE_H - 8}" text-anchor="middle" class="nc" '
            f'fill="{ink}">{counts.get(n, 0):,}</text></g>'
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="process map" '
        f'style="min-width:{min(width, 1000.0):.0f}px">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" '
        'markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#5b6b80"/></marker></defs>'
        "<style>.nt{font-size:12.5px;font-weight:600}.nc{font-size:11px;opacity:.85}"
        ".el{font-size:10.5px;fill:#3b4a5e;paint-order:stroke;stroke:#fff;stroke-width:3px}"
        ".nl{font-size:11px;fill:#3b4a5e}.st{fill:#3c9d5d}.en{fill:#b83b3b}</style>"
        + "".join(parts)
        + "".join(boxes)
        + "".join(labels)
        + "</svg>"
    )
    total_edges = pm.edges.height + pm.starts.height + pm.ends.height
    return MapDrawing(
        svg,
        len(nodes),
        len(edges),
        pm.nodes.height - len(nodes),
        max(0, total_edges - len(edges)),
    )


def _name(node: str) -> str:
    return {START: "start", END: "end"}.get(node, node)
