"""The "Tune my feed" page: the four weights as sliders, read from a query string or a form,
and the page's data (saved weights, and the Explore grid ranked with the weights being tried).

The sliders are generated from :class:`discovery.settings.Settings` (bounds and help text stated
once, there); the preview calls the same view as ``GET /v1/users/{handle}/feed?kind=explore``
with ``w_*`` overrides, and saving calls the one behind ``PUT /v1/users/{handle}/settings``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from ..service import views
from ..service.params import handle_url
from ..service.state import Service
from ..settings import Settings

__all__ = ["SLIDERS", "TUNE_SIZE", "sliders", "tune_page_data", "weights_from_query"]

#: Slider order on the page (the issue's order: recency, affinity, interests, popularity).
SLIDERS = ("w_recency", "w_affinity", "w_interest", "w_popularity")
_LABELS = {
    "w_recency": "Recency",
    "w_affinity": "Affinity",
    "w_interest": "Interests",
    "w_popularity": "Popularity",
}
#: Tiles in the preview grid.
TUNE_SIZE = 12


def weights_from_query(params: Mapping[str, str]) -> dict[str, float]:
    """The ``w_*`` values present in ``params``, validated against the settings' bounds."""
    out: dict[str, float] = {}
    for name in SLIDERS:
        raw = params.get(name)
        if raw is None or raw == "":
            continue
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"{name}={raw!r}: expected a number") from None
        if not math.isfinite(value):
            raise InputError(f"{name}={raw!r}: expected a finite number")
        out[name] = value
    Settings().replace(**out)  # raises InputError naming the weight out of bounds
    return out


def sliders(weights: Mapping[str, float]) -> list[dict[str, Any]]:
    """One dict per slider: name, label, value, bounds, help."""
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    return [
        {
            "name": name,
            "label": _LABELS[name],
            "value": float(weights[name]),
            "lo": fields[name].metadata["lo"],
            "hi": fields[name].metadata["hi"],
            "help": fields[name].metadata["help"],
        }
        for name in SLIDERS
    ]


def tune_page_data(service: Service, handle: str, preview: dict[str, float]) -> dict[str, Any]:
    """Everything the tune page shows; ``preview`` overrides the saved weights."""
    settings = views.settings_view(service, handle)
    weights = {**settings["weights"], **preview}
    feed = views.feed_view(
        service, handle, kind="explore", limit=TUNE_SIZE, weights=preview or None
    )
    user = settings["user"]
    return {
        "user": user,
        "settings": settings,
        "feed": feed,
        "weights": weights,
        "sliders": sliders(weights),
        "changed": bool(preview) and preview != {k: settings["weights"][k] for k in preview},
        "data": {
            "user": user,
            "kind": "explore",
            "limit": TUNE_SIZE,
            "weights": weights,
            "feed": f"/v1/users/{handle_url(user)}/feed?kind=explore&limit={TUNE_SIZE}",
            "settings": f"/v1/users/{handle_url(user)}/settings",
        },
        "twin": f"/v1/users/{handle_url(user)}/settings",
    }
