"""The server-side SVG charts: round axes, links on bars, escaped labels, gaps for no value."""

import re
from decimal import Decimal

from dashboards.charts import Bar, Point, bar_chart, compact, line_chart, nice_ceiling

D = Decimal


def test_axis_maximum_is_round_and_at_least_the_largest_value():
    assert nice_ceiling(D("45")) == (D("50"), D("10"))
    assert nice_ceiling(D("150010")) == (D("200000"), D("50000"))
    assert nice_ceiling(D("7")) == (D("8"), D("2"))
    assert nice_ceiling(D("0")) == (D("1"), D("0.25"))
    assert [compact(D(v)) for v in ("0", "950", "150000", "1234567")] == [
        "0",
        "950",
        "150k",
        "1.2M",
    ]


def test_bar_chart_links_bars_and_escapes_labels():
    svg = bar_chart(
        [
            Bar(label="<b>current</b>", value=D("100"), href="/drill/?bucket=current&x=1"),
            Bar(label="90+", value=D("0")),
        ],
        title="Ageing & co",
    )

    assert svg.startswith("<svg")
    assert 'aria-label="Ageing &amp; co"' in svg
    assert '<a href="/drill/?bucket=current&amp;x=1">' in svg
    assert "<b>" not in svg
    assert "&lt;b&gt;current&lt;/b&gt;" in svg
    heights = [float(h) for h in re.findall(r'<rect[^>]* height="([\d.]+)"', svg)]
    assert heights[0] > heights[1] == 1.0  # an empty bar is a hairline


def test_long_bar_labels_wrap_on_two_lines():
    svg = bar_chart([Bar(label="Overdue, not yet dunned", value=D(n)) for n in range(5)], title="t")

    assert svg.count("<tspan") == 10


def test_line_chart_breaks_where_a_month_has_no_value():
    svg = line_chart(
        [
            Point("01", D("10")),
            Point("02", D("20")),
            Point("03", None),
            Point("04", D("5")),
            Point("05", D("7")),
        ],
        title="CEI",
        suffix="%",
    )

    assert svg.count("<polyline") == 2
    assert svg.count("<circle") == 4
