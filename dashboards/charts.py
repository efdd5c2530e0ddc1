"""Charts drawn on the server as SVG: no script, crisp at any size, readable in a screenshot.

A bar can be a link (the ageing chart drills down to the bucket's
invoices); every bar and point carries a <title> the browser shows on
hover, and the page puts the same figures in a table beside the chart.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
HEIGHT = 260
LEFT = 64
RIGHT = 16
TOP = 16
BOTTOM = 44


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    href: str = ""
    tone: str = ""


@dataclass(frozen=True)
class Point:
    label: str
    value: Decimal | None


def _n(value: float) -> str:
    """A coordinate with one decimal."""
    return f"{value:.1f}"


def nice_ceiling(value: Decimal) -> tuple[Decimal, Decimal]:
    """A round axis maximum at or above the value, and its tick step (1, 2 or 5 x 10^k)."""
    if value <= 0:
        return Decimal(1), Decimal("0.25")
    exponent = value.adjusted()
    for digits in range(exponent - 1, exponent + 2):
        for base in (1, 2, 5):
            step = Decimal(base).scaleb(digits)
            ticks = (value / step).to_integral_value(rounding=ROUND_CEILING)
            if ticks <= 5:
                return step * ticks, step
    raise AssertionError("a step of 10^(exponent+1) always fits")  # pragma: no cover


def compact(value: Decimal) -> str:
    """An axis label: 1.2M, 350k, 45."""
    magnitude = abs(value)
    for size, suffix in ((Decimal(1_000_000_000), "B"), (Decimal(1_000_000), "M"), (1000, "k")):
        if magnitude >= size:
            scaled = (value / size).quantize(Decimal("0.1"))
            return f"{scaled.normalize():f}{suffix}"
    return f"{value.quantize(Decimal('0.1')).normalize():f}"


def _grid(maximum: Decimal, step: Decimal, plot_height: int, suffix: str) -> SafeString:
    lines = []
    value = Decimal(0)
    while value <= maximum:
        y = TOP + plot_height - float(value / maximum) * plot_height
        lines.append((y, compact(value) + suffix))
        value += step
    return format_html_join(
        "",
        '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}" stroke="#d0d7de"'
        ' stroke-width="1"/><text class="chart-axis" x="{}" y="{}" text-anchor="end"'
        ' font-size="11" fill="#57606a">{}</text>',
        ((LEFT, WIDTH - RIGHT, _n(y), _n(y), LEFT - 6, _n(y + 4), label) for y, label in lines),
    )


def _label(text: str, *, x: float, width: float) -> SafeString:
    """An x-axis label, on two lines when it is wider than its slot (about 6.5 px a letter)."""
    lines = [text]
    if len(text) * 6.5 > width and " " in text:
        words = text.split()
        half = max(1, len(words) // 2)
        lines = [" ".join(words[:half]), " ".join(words[half:])]
    return format_html(
        '<text class="chart-label" y="{}" text-anchor="middle" font-size="12"'
        ' fill="#24292f">{}</text>',
        HEIGHT - BOTTOM + 18,
        format_html_join(
            "",
            '<tspan x="{}" dy="{}">{}</tspan>',
            ((_n(x), "0" if index == 0 else "14", line) for index, line in enumerate(lines)),
        ),
    )


def bar_chart(bars: list[Bar], *, title: str, value_format=str, suffix: str = "") -> SafeString:
    """A vertical bar chart; a bar with `href` links to it."""
    plot_height = HEIGHT - TOP - BOTTOM
    plot_width = WIDTH - LEFT - RIGHT
    top_value = max((bar.value for bar in bars), default=Decimal(0))
    maximum, step = nice_ceiling(Decimal(top_value))
    slot = plot_width / max(len(bars), 1)
    bar_width = min(slot * 0.6, 80)
    parts = [_grid(maximum, step, plot_height, suffix)]
    for index, bar in enumerate(bars):
        height = float(Decimal(bar.value) / maximum) * plot_height if bar.value > 0 else 0
        x = LEFT + slot * index + (slot - bar_width) / 2
        y = TOP + plot_height - height
        shape = format_html(
            '<rect class="chart-bar {}" x="{}" y="{}" width="{}" height="{}"'
            ' rx="2" fill="{}"><title>{}: {}</title></rect>'
            '<text class="chart-value" x="{}" y="{}" text-anchor="middle"'
            ' font-size="11" fill="#24292f">{}</text>',
            bar.tone,
            _n(x),
            _n(y),
            _n(bar_width),
            _n(max(height, 1)),
            "#c62828" if bar.tone == "danger" else "#1f6feb",
            bar.label,
            value_format(bar.value),
            _n(x + bar_width / 2),
            _n(y - 4),
            value_format(bar.value),
        )
        if bar.href:
            shape = format_html('<a href="{}">{}</a>', bar.href, shape)
        parts.append(shape)
        parts.append(_label(bar.label, x=LEFT + slot * index + slot / 2, width=slot))
    return _svg(title, mark_safe("".join(parts)))


def line_chart(points: list[Point], *, title: str, suffix: str = "") -> SafeString:
    """A line through the points; a None value breaks the line (undefined that month)."""
    plot_height = HEIGHT - TOP - BOTTOM
    plot_width = WIDTH - LEFT - RIGHT
    values = [point.value for point in points if point.value is not None]
    maximum, step = nice_ceiling(max(values, default=Decimal(0)))
    slot = plot_width / max(len(points), 1)
    parts = [_grid(maximum, step, plot_height, suffix)]
    segments: list[list[tuple[float, float]]] = [[]]
    for index, point in enumerate(points):
        x = LEFT + slot * index + slot / 2
        parts.append(
            format_html(
                '<text class="chart-label" x="{}" y="{}" text-anchor="middle"'
                ' font-size="11" fill="#24292f">{}</text>',
                _n(x),
                HEIGHT - BOTTOM + 18,
                point.label,
            )
        )
        if point.value is None:
            segments.append([])
            continue
        y = TOP + plot_height - float(Decimal(point.value) / maximum) * plot_height
        segments[-1].append((x, y))
        parts.append(
            format_html(
                '<circle class="chart-point" cx="{}" cy="{}" r="3.5" fill="#1f6feb">'
                "<title>{}: {}{}</title></circle>",
                _n(x),
                _n(y),
                point.label,
                point.value,
                suffix,
            )
        )
    for segment in segments:
        if len(segment) > 1:
            parts.insert(
                1,
                format_html(
                    '<polyline class="chart-line" fill="none" stroke="#1f6feb"'
                    ' stroke-width="2" points="{}"/>',
                    " ".join(f"{x:.1f},{y:.1f}" for x, y in segment),
                ),
            )
    return _svg(title, mark_safe("".join(parts)))


def _svg(title: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}"'
        ' xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        title,
        body,
    )
