"""Server-rendered SVG charts: no script, no chart library, readable by screen readers.

Each chart is an `<svg role="img">` with a `<title>` and a `<desc>` that states every number, and
the numbers are printed on the chart itself; the page shows the same numbers in a table too.
"""

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 640
BAR_HEIGHT = 28
GAP = 8
LABEL_WIDTH = 220
PALETTE = ("#0b6e4f", "#2f8f6f", "#57b08e", "#7fc7a9", "#a3d9c2", "#c3e8d8", "#dcf2e8", "#eef9f4")


def _number(value: float) -> str:
    """Vietnamese digit grouping (1.234.567), one decimal for shares."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}".replace(",", "\u00a0").replace(".", ",").replace("\u00a0", ".")
    return f"{int(value):,}".replace(",", ".")


def _frame(title: str, description: str, height: int, body: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" class="chart">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>{body}</svg>"
    )


def bar_chart(rows: Sequence[tuple[str, float]], *, title: str, unit: str = "") -> Markup:
    """Horizontal bars, one per row, with the value printed at the end of each bar."""
    top = max((value for _, value in rows), default=0) or 1
    span = WIDTH - LABEL_WIDTH - 90
    parts = []
    for i, (label, value) in enumerate(rows):
        y = i * (BAR_HEIGHT + GAP)
        width = round(span * value / top, 1)
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT * 0.7}" text-anchor="end" font-size="14">'
            f"{escape(label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}" fill="{PALETTE[0]}"/>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + BAR_HEIGHT * 0.7}" font-size="14">'
            f"{escape(_number(value))}{escape(unit)}</text>"
        )
    height = max(len(rows) * (BAR_HEIGHT + GAP), BAR_HEIGHT)
    description = "; ".join(f"{label}: {_number(value)}{unit}" for label, value in rows)
    return _frame(title, description, height, "".join(parts))


def funnel(steps: Sequence[tuple[str, int]], *, total: int, title: str) -> Markup:
    """Centred bars narrowing down the chain: the count and share of `total` that got this far."""
    parts = []
    for i, (label, count) in enumerate(steps):
        y = i * (BAR_HEIGHT + GAP)
        share = count / total if total else 0
        width = round((WIDTH - LABEL_WIDTH - 20) * share, 1)
        x = LABEL_WIDTH + (WIDTH - LABEL_WIDTH - 20 - width) / 2
        middle = LABEL_WIDTH + (WIDTH - LABEL_WIDTH - 20) / 2
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT * 0.7}" text-anchor="end" font-size="14">'
            f"{escape(label)}</text>"
            f'<rect x="{x:.1f}" y="{y}" width="{width}" height="{BAR_HEIGHT}" fill="{colour}"/>'
            f'<text x="{middle:.1f}" y="{y + BAR_HEIGHT * 0.7}" text-anchor="middle" font-size="13">'
            f"{_number(count)} · {_number(share * 100)}%</text>"
        )
    height = max(len(steps) * (BAR_HEIGHT + GAP), BAR_HEIGHT)
    description = "; ".join(
        f"{label}: {_number(count)} ({_number((count / total if total else 0) * 100)}%)"
        for label, count in steps
    )
    return _frame(title, description, height, "".join(parts))


def trend(points: Sequence[tuple[str, int]], *, title: str) -> Markup:
    """A line over months (oldest first) with each value marked and printed."""
    height, left, bottom, top_pad = 220, 40, 40, 24
    top = max((value for _, value in points), default=0) or 1
    step = (WIDTH - left - 20) / max(len(points) - 1, 1)
    coords = [
        (left + i * step, top_pad + (height - bottom - top_pad) * (1 - value / top))
        for i, (_, value) in enumerate(points)
    ]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(coords))
    parts = [f'<path d="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="3"/>'] if points else []
    for (label, value), (x, y) in zip(points, coords, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{PALETTE[0]}"/>'
            f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" font-size="12">{_number(value)}</text>'
            f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle" font-size="11">{escape(label)}</text>'
        )
    description = "; ".join(f"{label}: {_number(value)}" for label, value in points)
    return _frame(title, description, height, "".join(parts))
