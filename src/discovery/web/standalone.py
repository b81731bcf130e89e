"""The network view outside the server: one self-contained HTML file, or a PNG (matplotlib).

:func:`network_html` inlines the npm-installed cytoscape build and ``static/network.js`` and
allows exactly those two scripts by their SHA-256 hashes in a Content-Security-Policy ``<meta>``;
the data sits in a ``<script type="application/json">`` block, read with ``textContent``.
Thumbnails are small JPEG ``data:`` URIs made from the media folder (http(s) images are kept as
links), so the file opens anywhere. :func:`network_png` draws the same layout, colours and sizes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from pathlib import Path
from typing import Any

from ..errors import InputError
from .assets import STATIC_DIR, graph_library
from .network import OTHER, SCALE, network_svg
from .render import environment, media_url

__all__ = ["file_image", "network_figure", "network_html", "network_png"]


def file_image(media_dir: Path, size: int = 160) -> Any:
    """``image -> src`` for files: http(s) URLs kept, media files as small ``data:`` JPEGs,
    anything else (``javascript:``, paths leaving the folder) dropped."""
    from PIL import Image

    root = media_dir.resolve()

    def convert(image: str | None) -> str | None:
        url = media_url(image)
        if url is None or not url.startswith("/media/"):
            return url
        path = (root / str(image)).resolve()
        if root not in path.parents or not path.is_file():
            return None
        try:
            with Image.open(path) as original:
                im = original.convert("RGB")
            im.thumbnail((size, size))
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=72)
        except OSError:
            return None
        return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()

    return convert


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _raw(text: str, tag: str) -> Any:
    """Text to put verbatim inside ``<tag>`` (refuses anything that could close the element)."""
    from markupsafe import Markup

    if f"</{tag}" in text.lower():
        raise InputError(f"cannot inline text that contains </{tag}")
    return Markup(text)


def network_html(view: dict[str, Any]) -> str:
    """The network view as one standalone HTML document (see the module docstring)."""
    library = graph_library()
    script = (STATIC_DIR / "network.js").read_text(encoding="utf-8")
    css = "\n".join(
        [
            "body{margin:0;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
            "color:#262626;background:#fafafa}main{max-width:1200px;margin:0 auto;padding:20px}"
            ".page-head{margin-bottom:14px}.page-head h1{margin:0;font-size:22px}"
            ".page-head p,.muted{color:#737373}.page-head p{margin:2px 0 0}"
            "h2.section{font-size:16px}",
            (STATIC_DIR / "network.css").read_text(encoding="utf-8"),
        ]
    )
    csp = (
        f"default-src 'none'; script-src {_sha256(library)} {_sha256(script)}; "
        f"style-src {_sha256(css)}; img-src data: http: https:; base-uri 'none'; "
        "form-action 'none'"
    )
    view = dict(view, links=False)
    return (
        environment()
        .get_template("network_file.html")
        .render(
            view=view,
            svg=_raw(network_svg(view), "script"),
            csp=csp,
            css=_raw(css, "style"),
            library=_raw(library, "script"),
            script=_raw(script, "script"),
            links=False,
            thumbs=False,
        )
    )


def network_png(view: dict[str, Any], path: str | Path, dpi: int = 150) -> Path:
    """Draw the view (same positions, colours, sizes and outlines) into a PNG."""
    fig = network_figure(view, dpi)
    out = Path(path)
    with warnings.catch_warnings():  # emoji hashtags: DejaVu has no glyph, a box is drawn
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(out, bbox_inches="tight", facecolor="white")
    return out


def network_figure(view: dict[str, Any], dpi: int = 150) -> Any:
    """The matplotlib figure of :func:`network_png`: each named account's label centred where
    :mod:`.labels` placed it (its font is smaller than the box placed, so labels stay apart)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    nodes = view["nodes"]
    xy = {int(n["id"]): (n["x"], -n["y"]) for n in nodes}
    fig = Figure(figsize=(10, 10), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.axis("off")
    for e in view["edges"]:
        (x1, y1), (x2, y2) = xy[int(e["source"])], xy[int(e["target"])]
        ax.plot([x1, x2], [y1, y2], color="#c9ccd3", alpha=0.45, lw=0.5, zorder=1)
    # matplotlib sizes are areas in pt²; the view's size is a diameter in px at SCALE px/ring
    to_pt = 10 * 72 / (2 * (max(abs(v) for p in xy.values() for v in p) + 0.3) * SCALE)
    for n in sorted(nodes, key=lambda n: -int(n["hop"])):
        x, y = xy[int(n["id"])]
        followed, centre = bool(n["followed"]), n["hop"] == 0
        ax.scatter(
            [x],
            [y],
            s=(float(n["size"]) * to_pt) ** 2,
            c=n["color"],
            alpha=1.0 if followed or centre else 0.55,
            marker="s" if n["kind"] == "brand" else "o",
            edgecolors="#ffffff" if centre else "#111111" if followed else "#555555",
            linewidths=2.0 if followed or centre else 0.8,
            linestyles="solid" if followed or centre else "dashed",
            zorder=3,
        )
        if n["labelled"]:  # the label's offset is in drawing units, y down
            ax.text(
                x + float(n["label_dx"]) / SCALE,
                y - float(n["label_dy"]) / SCALE,
                "@" + str(n["handle"]),
                ha="center",
                va="center",
                fontsize=10 if centre else 7,
                fontweight="bold" if centre else "normal",
                zorder=4,
                gid="label",
            )
    handles = [
        Line2D([], [], marker="o", ls="", color=e["color"], label=e["label"])
        for e in view["legend"]
        if e["color"] != OTHER
    ]
    handles.append(Line2D([], [], marker="o", ls="", color=OTHER, label="other"))
    handles.append(
        Line2D([], [], marker="o", ls="", mfc="#888", mec="#111", mew=2, label="followed")
    )
    ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=False, ncol=2)
    ax.set_title(
        f"Network of @{view['center']} — {view['counts']['nodes']} accounts, "
        f"{view['counts']['followed']} followed; size = personalized PageRank",
        fontsize=10,
    )
    return fig
