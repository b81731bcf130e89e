"""Where the network view's handles go: labels that overlap no other label and no node.

Greedy label placement (the "four-position model" of Christensen, Marks & Shieber, *An
empirical study of algorithms for point-feature label placement*, ACM TOG 14(3), 1995): take
the accounts in order of importance (the centre, then PPR); try the label on the side of the
node that faces away from the centre, then the opposite side, then the two others; keep the
first position whose box meets no kept label and no node's disc, and leave the account
unlabelled when none fits. Hand-written: the layout libraries we already use (cytoscape, the
SVG) draw labels where they are told and do not avoid collisions.

Boxes are in the drawing's units (``SCALE`` per ring), for text of ``font`` units. Label widths
are estimated from per-character advance widths of DejaVu Sans, the widest common sans-serif
(what ``system-ui`` is on most Linux desktops), with a margin, so a narrower font only leaves
more room; the browser tests check the estimate against Chromium's own measurement.

>>> round(text_width("@ana", 18), 1), text_width("@mmm", 18) > text_width("@iii", 18)
(55.2, True)
>>> boxes = place_labels([(0, 0.0, 0.0, 50.0, "@me", 26.0, True),
...                       (1, 0.0, -200.0, 20.0, "@ana", 18.0, False),
...                       (2, 30.0, -200.0, 20.0, "@bo", 18.0, False),
...                       (3, 15.0, -200.0, 20.0, "@cy", 18.0, False)])
>>> {node: (b.dx, b.dy) for node, b in boxes.items()}  # ana up, away from me; bo down; no cy
{0: (0.0, 48.25), 1: (0.0, -28.25), 2: (0.0, 28.25)}
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["CENTRE_FONT", "LABEL_FONT", "Label", "place_labels", "text_width"]

#: Label font sizes in drawing units (the SVG and cytoscape draw them at these sizes).
LABEL_FONT = 18.0
CENTRE_FONT = 26.0
#: Space between a node's disc and its label, and the white halo drawn around each label.
GAP = 4.0
HALO = 3.0
#: Advance widths in em (DejaVu Sans, rounded up); anything else: see :func:`_advance`.
_EM = {
    **dict.fromkeys("ijl.,:;!|'`", 0.33),
    **dict.fromkeys(" frt()[]{}-_/", 0.46),
    **dict.fromkeys("mw", 0.98),
    **dict.fromkeys("MW@%", 1.0),
    **dict.fromkeys("ABCDEFGHIJKLNOPQRSTUVXYZ&#", 0.78),
    **dict.fromkeys("0123456789", 0.64),
}


def _advance(ch: str) -> float:
    if ch in _EM:
        return _EM[ch]
    if ch.isascii():
        return 0.64  # other lower-case letters and punctuation
    if unicodedata.east_asian_width(ch) in "WF":
        return 1.3  # CJK and emoji
    return 0.8


def text_width(text: str, font: float, bold: bool = False) -> float:
    """Estimated width of ``text`` at ``font`` units, 5 % wide of DejaVu Sans (its bold is
    up to 10 % wider)."""
    return (1.16 if bold else 1.05) * font * sum(_advance(ch) for ch in text)


@dataclass(frozen=True)
class Label:
    """A placed label: its centre relative to the node's centre, and its size."""

    dx: float
    dy: float
    width: float
    height: float


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(
    nodes: Iterable[tuple[int, float, float, float, str, float, bool]], limit: int | None = None
) -> dict[int, Label]:
    """``{id: Label}`` for the nodes that get one.

    ``nodes`` are ``(id, x, y, diameter, text, font, bold)`` in drawing units, most important
    first;
    at most ``limit`` labels are placed.
    """
    nodes = list(nodes)
    discs = [(x - d / 2, y - d / 2, x + d / 2, y + d / 2) for _, x, y, d, *_ in nodes]
    kept: list[tuple[float, float, float, float]] = []
    out: dict[int, Label] = {}
    for i, (node, x, y, d, text, font, bold) in enumerate(nodes):
        if limit is not None and len(out) >= limit:
            break
        w = text_width(text, font, bold) + 2 * HALO
        h = 1.25 * font + 2 * HALO
        for dx, dy in _sides(x, y, d / 2 + GAP, w, h):
            box = (x + dx - w / 2, y + dy - h / 2, x + dx + w / 2, y + dy + h / 2)
            others = (disc for j, disc in enumerate(discs) if j != i)
            if not any(_overlaps(box, k) for k in kept) and not any(
                _overlaps(box, disc) for disc in others
            ):
                kept.append(box)
                out[node] = Label(round(dx, 2), round(dy, 2), round(w, 2), round(h, 2))
                break
    return out


def _sides(x: float, y: float, r: float, w: float, h: float) -> list[tuple[float, float]]:
    """Label centres below, above, right and left of a node of radius ``r``, the side facing
    away from the centre (0, 0) first and its opposite second."""
    below, above = (0.0, r + h / 2), (0.0, -(r + h / 2))
    right, left = (r + w / 2, 0.0), (-(r + w / 2), 0.0)
    if abs(y) >= abs(x) or math.hypot(x, y) == 0:
        first, second = (above, below) if y < 0 else (below, above)
        return [first, second, right, left] if x >= 0 else [first, second, left, right]
    first, second = (right, left) if x > 0 else (left, right)
    return [first, second, below, above] if y >= 0 else [first, second, above, below]
