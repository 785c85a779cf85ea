"""Growth charts as inline SVG, drawn on the server: no JavaScript, no chart library, no CDN.

Each chart is decorative for assistive technology beyond its accessible name: the page
puts the same figures in a data table beside it (see templates/public/statistics.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 36, 12, 40


@dataclass(frozen=True)
class Point:
    label: str  # shown under the axis (may be thinned out)
    value: float
    display: str  # the value as shown to people (localised)


def _n(value: float) -> str:
    """A coordinate with one decimal (format_html escapes its arguments, so they are strings first)."""
    return f"{value:.1f}"


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^n at or above value, so gridlines fall on round numbers."""
    if value <= 0:
        return 1
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def _scale(points: Sequence[Point]) -> tuple[float, float, float]:
    top = _nice_max(max((p.value for p in points), default=0))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    return top, plot_w, plot_h


def _format_tick(value: float) -> str:
    """Axis values, short: 2.5 (2,5 in French), 250k, 3M."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return number_format(round(value / size, 1), use_l10n=True).removesuffix(",0").removesuffix(".0") + suffix
    return number_format(round(value, 1), use_l10n=True).removesuffix(",0").removesuffix(".0")


def _frame(points: Sequence[Point], top: float, plot_w: float, plot_h: float) -> SafeString:
    """Gridlines with their values, and the x labels (at most about eight of them)."""
    grid = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        grid.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" class="chart-grid"/>'
                '<text x="{}" y="{}" class="chart-tick" text-anchor="end">{}</text>',
                LEFT,
                _n(y),
                WIDTH - RIGHT,
                _n(y),
                LEFT - 6,
                _n(y + 4),
                _format_tick(value),
            )
        )
    every = max(1, -(-len(points) // 8))
    step = plot_w / max(len(points), 1)
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" class="chart-tick" text-anchor="middle">{}</text>',
        (
            (_n(LEFT + step * (i + 0.5)), HEIGHT - BOTTOM + 18, p.label)
            for i, p in enumerate(points)
            if (len(points) - 1 - i) % every == 0
        ),
    )
    return SafeString("".join(grid)) + labels


def _svg(body: SafeString, label_id: str) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}" focusable="false" '
        'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">{}</svg>',
        WIDTH,
        HEIGHT,
        label_id,
        body,
    )


def bar_chart(points: Sequence[Point], label_id: str) -> SafeString:
    """Vertical bars, one per point; `label_id` is the id of the element naming the chart (a figcaption)."""
    top, plot_w, plot_h = _scale(points)
    step = plot_w / max(len(points), 1)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="chart-bar"><title>{}: {}</title></rect>',
        (
            (
                _n(LEFT + step * i + step * 0.15),
                _n(TOP + plot_h - plot_h * p.value / top),
                _n(step * 0.7),
                _n(plot_h * p.value / top),
                p.label,
                p.display,
            )
            for i, p in enumerate(points)
        ),
    )
    return _svg(_frame(points, top, plot_w, plot_h) + bars, label_id)


def line_chart(points: Sequence[Point], label_id: str) -> SafeString:
    """A line with a shaded area under it, for cumulative series (users, organisations)."""
    top, plot_w, plot_h = _scale(points)
    step = plot_w / max(len(points), 1)
    coords = [(LEFT + step * (i + 0.5), TOP + plot_h - plot_h * p.value / top) for i, p in enumerate(points)]
    if not coords:
        return _svg(_frame(points, top, plot_w, plot_h), label_id)
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    base = TOP + plot_h
    area = f"{coords[0][0]:.1f},{base:.1f} {line} {coords[-1][0]:.1f},{base:.1f}"
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="3" class="chart-dot"><title>{}: {}</title></circle>',
        ((_n(x), _n(y), p.label, p.display) for (x, y), p in zip(coords, points, strict=True)),
    )
    body = format_html(
        '<polygon points="{}" class="chart-area"/><polyline points="{}" class="chart-line"/>', area, line
    )
    return _svg(_frame(points, top, plot_w, plot_h) + body + dots, label_id)
