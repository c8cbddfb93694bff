"""A dependency-free SVG line plot of the per-step JSONL log (one panel per metric, log-scale y for losses)."""
from __future__ import annotations

import json
import math
import pathlib
from xml.sax.saxutils import escape


def read_log(path: pathlib.Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    return [lo + (hi - lo) * i / n for i in range(n + 1)]


def plot_svg(rows: list[dict], keys: list[str], title: str, width: int = 720, panel_h: int = 180) -> str:
    keys = [k for k in keys if any(isinstance(r.get(k), (int, float)) and math.isfinite(r[k]) for r in rows)]
    h = 40 + panel_h * max(1, len(keys))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="14">{escape(title)}</text>']
    left, right = 70, width - 20
    for pi, k in enumerate(keys):
        pts = [(r["step"], r[k]) for r in rows if isinstance(r.get(k), (int, float)) and math.isfinite(r[k])]
        top = 40 + pi * panel_h
        bottom = top + panel_h - 30
        logy = k.startswith("loss") and all(v > 0 for _, v in pts)
        ys = [math.log10(v) if logy else v for _, v in pts]
        x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
        y0, y1 = min(ys), max(ys)
        if x1 == x0:
            x1 = x0 + 1
        if y1 == y0:
            y1 = y0 + 1e-9 if y0 == 0 else y0 + abs(y0) * 1e-3
        sx = lambda x: left + (right - left) * (x - x0) / (x1 - x0)  # noqa: E731
        sy = lambda y: bottom - (bottom - top) * (y - y0) / (y1 - y0)  # noqa: E731
        out.append(f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" stroke="#999"/>')
        out.append(f'<text x="{left}" y="{top - 4}">{escape(k)}{" (log10)" if logy else ""}</text>')
        for yv in _ticks(y0, y1):
            lab = f"{10 ** yv:.3g}" if logy else f"{yv:.3g}"
            out.append(f'<text x="{left - 4}" y="{sy(yv) + 4:.1f}" text-anchor="end">{lab}</text>')
        for xv in _ticks(x0, x1):
            out.append(f'<text x="{sx(xv):.1f}" y="{bottom + 14}" text-anchor="middle">{xv:.0f}</text>')
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for (x, _), y in zip(pts, ys))
        out.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="1" points="{path}"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_plot(log_path: pathlib.Path, svg_path: pathlib.Path, title: str) -> None:
    rows = read_log(log_path)
    if not rows:
        return
    keys = [k for k in rows[-1] if k not in ("step", "time", "s_per_step") and not k.startswith("drop_")]
    svg_path.write_text(plot_svg(rows, keys, title))
