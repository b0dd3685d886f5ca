"""Stacked bar charts as inline SVG, drawn on the server: no script, no build step."""

from __future__ import annotations

from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac")


def stacked_bars(title: str, days: list[str], series: dict[str, dict[str, float]], *, money: bool = False,
                 width: int = 720, height: int = 260) -> str:
    """One bar per day, stacked by series (user or provider); `series[name][day]` is that part's height."""
    left, bottom, top, legend_w = 48, 36, 28, 150
    plot_w, plot_h = width - left - legend_w - 10, height - bottom - top
    totals = [sum(values.get(day, 0.0) for values in series.values()) for day in days]
    peak = max(totals, default=0.0) or 1.0
    fmt = (lambda v: f"${v:.2f}") if money else (lambda v: f"{v:g}")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="system-ui,sans-serif" font-size="11">',
           f"<title>{escape(title)}</title>", f'<rect width="{width}" height="{height}" fill="#fff"/>',
           f'<text x="{left}" y="16" font-size="13" font-weight="600">{escape(title)}</text>']
    for i in range(5):  # gridlines with their values
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                   f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#666">{escape(fmt(value))}</text>')
    slot = plot_w / max(len(days), 1)
    bar = max(2.0, slot * 0.7)
    for d, day in enumerate(days):
        x = left + d * slot + (slot - bar) / 2
        y = top + plot_h
        for s, (name, values) in enumerate(series.items()):
            v = values.get(day, 0.0)
            if v <= 0:
                continue
            h = plot_h * v / peak
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                       f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(day)} {escape(name)}: '
                       f"{escape(fmt(v))}</title></rect>")
        if len(days) <= 14 or d % max(1, len(days) // 10) == 0:
            out.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" fill="#666">'
                       f"{escape(day[5:])}</text>")
    for s, name in enumerate(series):
        y = top + 14 * s
        out.append(f'<rect x="{width - legend_w}" y="{y}" width="10" height="10" fill="{PALETTE[s % len(PALETTE)]}"/>'
                   f'<text x="{width - legend_w + 14}" y="{y + 9}">{escape(name[:22])}</text>')
    if not days:
        out.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="#999">'
                   "nothing in this period</text>")
    out.append("</svg>")
    return "".join(out)
