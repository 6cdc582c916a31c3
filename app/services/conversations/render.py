"""The opinion map as an SVG image: each participant a dot coloured by group, each
group's centre labelled with its letter and size, the caller's own dot ringed. Drawn by
hand (a few dozen lines of SVG), so no plotting library runs on a request."""

from xml.sax.saxutils import escape

from app.models.conversations import ConversationMapPublic

WIDTH = 640
HEIGHT = 480
MARGIN = 40
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
UNGROUPED = "#999999"


def _scale(values: list[float], size: int) -> tuple[float, float]:
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    span = (high - low) or 1.0
    return low, (size - 2 * MARGIN) / span


def map_svg(view: ConversationMapPublic, title: str) -> str:
    xs = [p.x for p in view.participants] + [g.center[0] for g in view.groups]
    ys = [p.y for p in view.participants] + [g.center[1] for g in view.groups]
    x0, kx = _scale(xs, WIDTH)
    y0, ky = _scale(ys, HEIGHT)

    def at(x: float, y: float) -> tuple[float, float]:
        return MARGIN + (x - x0) * kx, HEIGHT - MARGIN - (y - y0) * ky

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    for p in view.participants:
        cx, cy = at(p.x, p.y)
        colour = COLOURS[p.group % len(COLOURS)] if p.group is not None else UNGROUPED
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{colour}" fill-opacity="0.6"/>'
        )
    for g in view.groups:
        cx, cy = at(*g.center)
        label = f"{chr(ord('A') + g.id)} ({g.size})"
        parts.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" font-family="sans-serif" font-size="16" '
            f'font-weight="bold" text-anchor="middle">{escape(label)}</text>'
        )
    if view.you is not None:
        cx, cy = at(view.you.x, view.you.y)
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="8" fill="none" stroke="#000" '
            'stroke-width="2"><title>you</title></circle>'
        )
    if not view.participants:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" font-family="sans-serif" font-size="16" '
            'text-anchor="middle">Not enough votes for a map yet</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
