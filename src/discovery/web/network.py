"""The network view: a user's ego network laid out, coloured and sized, with each account's posts.

One function, :func:`network_view`, turns the engine's ego network (``GET
/v1/users/{handle}/graph``) into everything a drawing needs; the web page, the standalone HTML
file and the PNG of ``discovery graph`` all draw that same dictionary.

Layout (:func:`radial_layout`): the user at the centre, accounts ``h`` follow hops away on a
circle of radius ``h``. Accounts other than the user are split into communities by Louvain
modularity (:mod:`.communities`); colour = community (the largest nine), labelled by its
members' most common topics. On the first ring accounts are grouped by community (largest
first, then by PPR); on each outer ring an account sits at the circular mean angle of its
neighbours on the ring inside (a barycentre ordering, Sugiyama et al. 1981), which keeps edges
short and communities together. Node diameter grows with personalized PageRank:
``size = 12 + 30 * sqrt(ppr / max ppr)`` (the centre is drawn at a fixed size). The centre and
at most :data:`LABELLED` accounts (highest PPR first) are named, each label where it overlaps
no other label and no node (:mod:`.labels`); both drawings put it at the same offset.

>>> pos = radial_layout([{"id": 1, "hop": 0, "topic": "", "ppr": 1.0},
...                      {"id": 2, "hop": 1, "topic": "a", "ppr": 0.2}], [])
>>> pos[1], pos[2]
((0.0, 0.0), (0.0, -1.0))
"""

from __future__ import annotations

import html
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from ..store.validate import display_safe
from .communities import louvain
from .labels import CENTRE_FONT, GAP, HALO, LABEL_FONT, place_labels, text_width

__all__ = [
    "OTHER",
    "PALETTE",
    "SCALE",
    "community_colours",
    "network_svg",
    "network_view",
    "node_posts",
    "radial_layout",
]

#: Colour-blind-friendly qualitative palette (Okabe–Ito, then Tableau) for the largest topics.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#8C564B",
    "#7F7F7F",
)
#: Colour of accounts whose topic is not among the largest ones, and of the centre.
OTHER = "#B8BCC4"
CENTRE = "#111111"
#: At most this many accounts (highest PPR first) are named in the drawings without zooming.
LABELLED = 12
#: Pixels per ring in the drawings (the JavaScript view uses the same).
SCALE = 200


def community_colours(nodes: Sequence[dict[str, Any]]) -> dict[int, tuple[str, str]]:
    """``{community: (colour, label)}`` for the largest communities of two or more accounts
    (ties by number); the label is the community's two most common topics."""
    members: dict[int, list[str]] = defaultdict(list)
    for n in nodes:
        if n["hop"] > 0:
            members[int(n["community"])].append(str(n.get("topic") or ""))
    ranked = sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    out = {}
    for (c, topics), colour in zip(ranked, PALETTE, strict=False):
        if len(topics) < 2:
            break
        common = Counter(t for t in topics if t).most_common()
        common.sort(key=lambda tc: (-tc[1], tc[0]))
        label = " ".join("#" + t for t, _ in common[:2]) or f"community {c + 1}"
        out[c] = (colour, label)
    return out


def radial_layout(
    nodes: Sequence[dict[str, Any]], edges: Sequence[dict[str, Any]]
) -> dict[int, tuple[float, float]]:
    """Positions ``{id: (x, y)}`` on ring ``hop`` (angle 0 up, clockwise): ring 1 in blocks by
    community (or topic when no ``community`` key), outer rings in blocks lined up with the
    same groups inside, each account by the barycentre of its inner neighbours."""
    rings: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for n in nodes:
        rings[int(n["hop"])].append(n)
    nbrs: dict[int, set[int]] = defaultdict(set)
    for e in edges:
        nbrs[int(e["source"])].add(int(e["target"]))
        nbrs[int(e["target"])].add(int(e["source"]))
    pos: dict[int, tuple[float, float]] = {}
    angle: dict[int, float] = {}
    placed: dict[str, list[float]] = defaultdict(list)  # group -> angles on inner rings
    for hop in sorted(rings):
        ring = rings[hop]
        if hop == 0:
            for n in ring:
                pos[int(n["id"])] = (0.0, 0.0)
            continue
        if hop == 1 or not angle:
            size = Counter(_group(n) for n in ring)
            ring.sort(key=lambda n: (-size[_group(n)], _group(n), -float(n["ppr"]), int(n["id"])))
            offset = 0.0
        else:
            own = {}
            for n in ring:
                inner = [angle[m] for m in nbrs[int(n["id"])] if m in angle]
                own[int(n["id"])] = _circular_mean(inner) if inner else 2 * math.pi
            block = _block_angles(ring, placed, own)
            ring.sort(key=lambda n: (block[_group(n)], _group(n), own[int(n["id"])], int(n["id"])))
            # turn the ring so that blocks sit, on average, where their groups are inside
            step = 2 * math.pi / len(ring)
            offset = _circular_mean([block[_group(n)] - i * step for i, n in enumerate(ring)])
        step = 2 * math.pi / len(ring)
        for i, n in enumerate(ring):
            a = (offset + i * step) % (2 * math.pi)
            angle[int(n["id"])] = a
            placed[_group(n)].append(a)
            pos[int(n["id"])] = (round(hop * math.sin(a), 6), round(-hop * math.cos(a), 6))
    return pos


def _group(n: dict[str, Any]) -> str:
    """Grouping key: the community when known, else the topic."""
    return f"{int(n['community']):06d}" if "community" in n else str(n.get("topic") or "")


def _block_angles(
    ring: list[dict[str, Any]], placed: dict[str, list[float]], own: dict[int, float]
) -> dict[str, float]:
    """Where each group's block goes on an outer ring: the mean angle of the group's members on
    the inner rings (so blocks line up with them), else of its members' own barycentres."""
    mine: dict[str, list[float]] = defaultdict(list)
    for n in ring:
        mine[_group(n)].append(own[int(n["id"])])
    return {g: _circular_mean(placed.get(g) or a) for g, a in mine.items()}


def _circular_mean(angles: list[float]) -> float:
    """Mean direction of angles in [0, 2π)."""
    s = sum(math.sin(a) for a in angles)
    c = sum(math.cos(a) for a in angles)
    return math.atan2(s, c) % (2 * math.pi)


def node_posts(engine: Any, account_ids: Sequence[int], k: int = 3) -> dict[int, list[dict]]:
    """Each account's ``k`` most recent posts (id, caption, image, counts), one store query."""
    import numpy as np

    snap = engine.snapshot
    index = snap.accounts.lookup(np.asarray(account_ids, dtype=np.int64))
    picks: dict[int, list[int]] = {}
    for aid, a in zip(account_ids, index, strict=True):
        posts = snap.author_posts(int(a)) if a >= 0 else np.zeros(0, np.int64)
        newest = posts[np.argsort(-snap.post_taken[posts], kind="stable")[:k]]
        picks[int(aid)] = [int(p) for p in newest]
    ids = [int(snap.post_id[p]) for ps in picks.values() for p in ps]
    details = engine.store.post_details(ids)
    out: dict[int, list[dict]] = {}
    for aid, ps in picks.items():
        out[aid] = []
        for p in ps:
            pid = int(snap.post_id[p])
            info = details.get(pid, {})
            out[aid].append(
                {
                    "post_id": pid,
                    "caption": str(info.get("caption") or ""),
                    "image": info.get("image"),
                    "like_count": int(snap.post_likes[p]),
                    "comment_count": int(snap.post_comments[p]),
                }
            )
    return out


def network_view(
    graph: dict[str, Any],
    posts: dict[int, list[dict]] | None = None,
    image_url: Callable[[str | None], str | None] | None = None,
) -> dict[str, Any]:
    """The ego network ``graph`` (as :meth:`Engine.ego_network` returns it) with positions,
    colours, sizes, a legend and, when given, each account's posts (images mapped through
    ``image_url``; ``None`` drops an image)."""
    nodes = [dict(n) for n in graph["nodes"]]
    edges = [dict(e) for e in graph["edges"]]
    others = {int(n["id"]): i for i, n in enumerate(n for n in nodes if n["hop"] > 0)}
    pairs = [
        (others[int(e["source"])], others[int(e["target"])])
        for e in edges
        if int(e["source"]) in others and int(e["target"]) in others
    ]
    labels = louvain(len(others), pairs)
    for n in nodes:
        n["community"] = int(labels[others[int(n["id"])]]) if int(n["id"]) in others else -1
    pos = radial_layout(nodes, edges)
    colours = community_colours(nodes)
    ranked = sorted((n for n in nodes if n["hop"] > 0), key=lambda n: (-float(n["ppr"]), n["id"]))
    top = float(ranked[0]["ppr"]) if ranked and float(ranked[0]["ppr"]) > 0 else 1.0
    for n in nodes:
        n["x"], n["y"] = pos[int(n["id"])]
        centre = n["hop"] == 0
        n["size"] = 50.0 if centre else round(12 + 30 * math.sqrt(float(n["ppr"]) / top), 2)
    _label(nodes, ranked)
    for n in nodes:
        centre = n["hop"] == 0
        n["color"] = CENTRE if centre else colours.get(n["community"], (OTHER, ""))[0]
        n["posts"] = []
        for p in (posts or {}).get(int(n["id"]), []):
            p = dict(p)
            p["image"] = image_url(p.get("image")) if image_url else None
            n["posts"].append(p)
    legend = [{"label": label, "color": colour} for colour, label in colours.values()]
    if any(n["color"] == OTHER for n in nodes):
        legend.append({"label": "other", "color": OTHER})
    return {
        "center": graph["center"],
        "depth": graph["depth"],
        "nodes": nodes,
        "edges": edges,
        "legend": legend,
        "scale": SCALE,
        "counts": {
            "nodes": len(nodes),
            "edges": len(edges),
            "followed": sum(1 for n in nodes if n["followed"]),
        },
    }


def _label(nodes: list[dict[str, Any]], ranked: list[dict[str, Any]]) -> None:
    """Set ``labelled`` and the label's offset ``label_dx``/``label_dy`` (drawing units) of
    every node: placed by :func:`.labels.place_labels` for the centre and the top accounts,
    below the node for the rest (their labels show only on hover or zoomed in)."""
    order = [n for n in nodes if n["hop"] == 0] + ranked
    placed = place_labels(
        (
            (
                int(n["id"]),
                n["x"] * SCALE,
                n["y"] * SCALE,
                float(n["size"]),
                "@" + display_safe(str(n["handle"])),
                CENTRE_FONT if n["hop"] == 0 else LABEL_FONT,
                n["hop"] == 0,
            )
            for n in order
        ),
        limit=LABELLED + 1,
    )
    below = 1.25 * LABEL_FONT / 2 + HALO + GAP
    for n in nodes:
        label = placed.get(int(n["id"]))
        n["labelled"] = label is not None
        n["label_dx"] = label.dx if label else 0.0
        n["label_dy"] = label.dy if label else round(float(n["size"]) / 2 + below, 2)


def network_svg(view: dict[str, Any], link: str | None = "#node-{id}") -> str:
    """The view as an inline SVG (the page without JavaScript, and the fallback in files):
    presentation attributes only (no ``style``, so a strict CSP allows it), every text escaped,
    each node a link to ``link`` formatted with its ``id``, ``handle`` and ``page`` (its
    ``table_page``, 1 when absent). Labels are drawn last, over every node and edge."""
    nodes = view["nodes"]
    xy = {int(n["id"]): (n["x"] * SCALE, n["y"] * SCALE) for n in nodes}
    span = 50 + max(
        (max(abs(x), abs(y)) + float(n["size"]) / 2 for n in nodes for x, y in [xy[int(n["id"])]]),
        default=0.0,
    )
    labels, drawn = [], []
    for n in sorted(nodes, key=lambda n: -int(n["hop"])):
        x, y = xy[int(n["id"])]
        handle = html.escape(display_safe(str(n["handle"])))
        href = ""
        if link:
            page = int(n.get("table_page", 1))
            href = html.escape(link.format(id=int(n["id"]), handle=n["handle"], page=page))
        drawn.append(_svg_node(n, x, y, handle, href))
        if n["labelled"]:
            lx, ly = x + float(n["label_dx"]), y + float(n["label_dy"])
            font = CENTRE_FONT if n["hop"] == 0 else LABEL_FONT
            half = text_width("@" + display_safe(str(n["handle"])), font, n["hop"] == 0) / 2
            span = max(span, abs(lx) + half + 10, abs(ly) + font + 10)
            bold = ' font-weight="bold"' if n["hop"] == 0 else ""
            text = (
                f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" dominant-baseline="central" '
                f'font-size="{font:g}"{bold}>@{handle}</text>'
            )
            labels.append(f'<a href="{href}">{text}</a>' if href else text)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="network-svg" role="img" '
        f'viewBox="{-span:.0f} {-span:.0f} {2 * span:.0f} {2 * span:.0f}" '
        f'aria-label="follow network of @{html.escape(display_safe(view["center"]))}">',
        '<g stroke="#c9ccd3" stroke-opacity="0.45" stroke-width="0.7">',
    ]
    for e in view["edges"]:
        (x1, y1), (x2, y2) = xy[int(e["source"])], xy[int(e["target"])]
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>')
    out.append("</g>")
    out.extend(drawn)
    out.append(
        '<g class="labels" font-family="system-ui, sans-serif" fill="#222" stroke="#fff" '
        f'stroke-width="{2 * HALO:g}" stroke-linejoin="round" paint-order="stroke">'
    )
    out.extend(labels)
    out.append("</g></svg>")
    return "".join(out)


def _svg_node(n: dict[str, Any], x: float, y: float, handle: str, href: str) -> str:
    """One node's shape (circle, or rounded square for a brand) with its tooltip and link."""
    r = float(n["size"]) / 2
    colour = html.escape(str(n["color"]))
    if n["hop"] == 0:
        stroke = 'stroke="#fff" stroke-width="4"'
    elif n["followed"]:
        stroke = 'stroke="#111" stroke-width="3"'
    else:
        stroke = 'stroke="#555" stroke-width="1.5" stroke-dasharray="3 2" fill-opacity="0.55"'
    if n["kind"] == "brand":
        shape = (
            f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" '
            f'rx="{r / 3:.1f}" fill="{colour}" {stroke}/>'
        )
    else:
        shape = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}" {stroke}/>'
    node = f"<title>@{handle}</title>{shape}"
    if href:
        node = f'<a href="{href}">{node}</a>'
    return f'<g class="node" data-id="{int(n["id"])}">{node}</g>'
