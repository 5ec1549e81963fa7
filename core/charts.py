"""Small charts for admin pages as inline SVG, drawn on the server.

No JavaScript and no chart library: a handful of readings and threshold lines are a few
dozen elements, the page's Content-Security-Policy (no inline style, no CDN) holds, and the
chart prints and screenshots like the rest of the page. Colours and strokes come from
classes in static/admin_ops/ops.css.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


@dataclass(frozen=True)
class Line:
    """A horizontal line across the chart at ``value`` (a threshold), labelled."""

    value: Decimal
    label: str
    css_class: str = "ops-chart-threshold"


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)


def line_chart(
    points: Sequence[tuple[datetime, Decimal]],
    *,
    lines: Sequence[Line] = (),
    label: str,
    element_id: str,
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """Values over time as a line with dots, and horizontal ``lines``; the y range covers
    both, so a threshold above every reading is still in sight."""
    left, right, top, bottom = 64, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [value for _when, value in points] + [line.value for line in lines]
    low, high = (min(values), max(values)) if values else (Decimal(0), Decimal(1))
    if high == low:
        low, high = low - 1, high + 1
    if points:
        first, last = points[0][0], points[-1][0]
    span = (last - first).total_seconds() if points else 0

    def x(when: datetime) -> float:
        if not span:
            return left + plot_w / 2
        return left + plot_w * (when - first).total_seconds() / span

    def y(value: Decimal) -> float:
        return top + plot_h * float((high - value) / (high - low))

    coords = [(round(x(when), 1), round(y(value), 1)) for when, value in points]
    polyline = format_html(
        '<polyline class="ops-chart-line" points="{}"/>',
        " ".join(f"{px},{py}" for px, py in coords),
    )
    dots = format_html_join(
        "",
        '<circle class="ops-chart-dot" cx="{}" cy="{}" r="3"><title>{} at {}</title></circle>',
        (
            (px, py, _number(value), when.strftime("%Y-%m-%d %H:%M UTC"))
            for (px, py), (when, value) in zip(coords, points, strict=True)
        ),
    )
    threshold_lines = format_html_join(
        "",
        '<line class="{}" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="ops-chart-label" x="{}" y="{}">{}</text>',
        (
            (
                line.css_class,
                left,
                width - right,
                round(y(line.value), 1),
                round(y(line.value), 1),
                left + 4,
                round(y(line.value), 1) - 3,
                line.label,
            )
            for line in lines
        ),
    )
    axis = format_html(
        '<line class="ops-chart-axis" x1="{l}" x2="{l}" y1="{t}" y2="{b}"/>'
        '<line class="ops-chart-axis" x1="{l}" x2="{r}" y1="{b}" y2="{b}"/>'
        '<text class="ops-chart-tick" x="{tx}" y="{ty_high}" text-anchor="end">{high}</text>'
        '<text class="ops-chart-tick" x="{tx}" y="{ty_low}" text-anchor="end">{low}</text>',
        l=left,
        r=width - right,
        t=top,
        b=top + plot_h,
        tx=left - 4,
        ty_high=top + 10,
        ty_low=top + plot_h,
        high=_number(high),
        low=_number(low),
    )
    dates = ""
    if points:
        dates = format_html(
            '<text class="ops-chart-tick" x="{}" y="{}">{}</text>'
            '<text class="ops-chart-tick" x="{}" y="{}" text-anchor="end">{}</text>',
            left,
            height - 8,
            first.strftime("%Y-%m-%d"),
            width - right,
            height - 8,
            last.strftime("%Y-%m-%d"),
        )
    return format_html(
        '<svg class="ops-chart" id="{}" role="img" aria-label="{}" viewBox="0 0 {} {}" '
        'preserveAspectRatio="xMinYMin meet">{}{}{}{}{}</svg>',
        element_id,
        label,
        width,
        height,
        axis,
        threshold_lines,
        polyline if points else "",
        dots,
        dates,
    )
