"""The numbers of a simulation, as one JSON-ready record (``--json`` and the report read it).

Floats are rounded to 6 significant digits, so the same seed gives byte-identical JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..store import to_iso
from .loop import SimLog
from .metrics import METRICS, Interval, Measures, arm_measures, measure, ratio_between

__all__ = ["EXPECTED", "TARGETS", "Summary", "engine_arm", "summarize"]

#: Issue 13 §4: a challenger against the timeline (metric, lowest ratio; hides: highest).
TARGETS = (("engagement_rate", 1.2, ">="), ("oon_likes", 2.0, ">="), ("hide_rate", 1.0, "<="))
#: The expected-likes measures each challenger is also compared on: per impression (the first
#: target without sampling noise) and per user.
EXPECTED = ("utility_rate", "utility")
#: Reference arms: never challengers.
_REFERENCES = ("timeline", "oracle", "random", "replay")
_NOT_ENGINE = ("oracle", "random", "replay")
#: The replay check's tolerances (issue 13 §2): like rate within ±30 % of the history's,
#: in-network share of impressions within ±0.10.
REPLAY_TOLERANCE = {"like_rate": 0.30, "in_network_share": 0.10}


def _r(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else float(f"{x:.6g}")


def _iv(v: Interval) -> list[float | None]:
    return [_r(x) for x in v]


@dataclass
class Summary:
    """The JSON body (``body``) and the per-arm measures it was computed from."""

    body: dict[str, Any]


def summarize(log: SimLog) -> Summary:
    """Per-arm totals and per-day values with intervals, ratios to the timeline and the
    oracle, the §4 target checks and the replay check."""
    cfg = log.config
    everything = range(cfg.days)
    total: dict[str, Measures] = {}
    arms: dict[str, Any] = {}
    for a, name in enumerate(cfg.arms):
        total[name] = arm_measures(log, a, everything)
        days = []
        for d in everything:
            m = arm_measures(log, a, range(d, d + 1))
            days.append({k: _iv(v) for k, v in measure(m, cfg.seed, cfg.samples, name, d).items()})
        arms[name] = {
            "users": int((log.arm == a).sum()),
            "total": {
                k: _iv(v) for k, v in measure(total[name], cfg.seed, cfg.samples, name).items()
            },
            "days": days,
        }
    body: dict[str, Any] = {
        "config": cfg.to_json(),
        "start": to_iso(log.start),
        "participants": len(log.users),
        "new_posts": log.new_posts,
        "history": {
            "impressions": log.history.impressions,
            "like_rate": _r(log.history.like_rate),
            "in_network_share": _r(log.history.in_network_share),
        },
        "metrics": list(METRICS),
        "arms": arms,
    }
    if "oracle" in total:
        body["of_oracle"] = {
            name: _iv(ratio_between(m, total["oracle"], "utility", cfg.seed, cfg.samples, name))
            for name, m in total.items()
            if name != "oracle"
        }
    paired = _paired(log) if log.paired else {}
    if "timeline" in total:
        body["versus_timeline"] = {
            name: {
                key: _iv(ratio_between(m, total["timeline"], key, cfg.seed, cfg.samples, name))
                for key, _, _ in TARGETS
            }
            for name, m in total.items()
            if name not in _REFERENCES
        }
        body["targets"] = _targets(body["versus_timeline"], arms, paired)
        # the first target without the draw of each like: the sum of P(like) over the same
        # impressions (the world's utility), so two arms' ratio carries only who saw what
        body["expected_versus_timeline"] = {
            name: {
                key: _iv(ratio_between(m, total["timeline"], key, cfg.seed, cfg.samples, name))
                for key in EXPECTED
            }
            for name, m in total.items()
            if name not in _REFERENCES
        }
    if paired:
        body["paired_timeline"] = paired
    if "replay" in total:
        body["replay_check"] = _replay_check(log, total["replay"])
    for name in log.teams:
        body.setdefault("interleaving", {})[name] = _interleaving(log, name)
    body["best"] = max(cfg.arms, key=lambda n: arms[n]["total"]["utility"][0] or 0.0)
    engine = [n for n in cfg.arms if engine_arm(n)]
    if engine:
        body["best_engine"] = max(engine, key=lambda n: arms[n]["total"]["utility"][0] or 0.0)
    return Summary(body)


def _paired(log: SimLog) -> dict[str, dict[str, Any]]:
    """Each engine arm over its own users' shadow timelines (:mod:`.paired`)."""
    from ..seed import child_rng
    from .paired import paired_hides, paired_ratio

    cfg = log.config
    out: dict[str, dict[str, Any]] = {}
    for name, pair in log.paired.items():
        mine = pair.of(np.flatnonzero(log.arm == list(cfg.arms).index(name)))
        out[name] = {
            per: _iv(paired_ratio(mine, per, child_rng(cfg.seed, "paired", name, per), cfg.samples))
            for per in ("impression", "user")
        }
        hides, shadow = paired_hides(
            mine, child_rng(cfg.seed, "paired", name, "hides"), cfg.samples
        )
        # hides per expected impression, ×1000 (per thousand): rare enough that 4 places
        # would round a feed's rate away
        out[name]["hides_per_1000"] = _iv((1000 * hides[0], 1000 * hides[1], 1000 * hides[2]))
        out[name]["shadow_hides_per_1000"] = _r(1000 * shadow)
    return out


def engine_arm(name: str) -> bool:
    """Whether arm ``name`` is served by the engine alone (no oracle, random or replay part).

    >>> engine_arm("blend:ranker=learned"), engine_arm("timeline"), engine_arm("oracle+blend")
    (True, True, False)
    """
    return all(part.split(":")[0] not in _NOT_ENGINE for part in name.split("+"))


def _targets(
    versus: dict[str, dict[str, list[float | None]]],
    arms: dict[str, Any],
    paired: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Each challenger against the timeline; decided on the totals (``a op bound × b``), so a
    timeline at zero (no out-of-network likes, no hides) still gives an answer.

    An arm with a paired measure (:func:`_paired`) is also held to the first and last
    targets on it, stricter: engagements per impression over the same users' timelines met
    only when the whole 95 % interval clears the bound (``paired_engagement_rate``), expected
    hides per 1,000 only when the interval's top is at most the timelines' (``paired_hides``).

    >>> arms = {"timeline": {"total": {"engagement_rate": [0.2], "oon_likes": [0.0],
    ...                                "hide_rate": [0.0]}},
    ...         "blend": {"total": {"engagement_rate": [0.25], "oon_likes": [1.0],
    ...                             "hide_rate": [0.001]}}}
    >>> versus = {"blend": {"engagement_rate": [1.25, 1.1, 1.4], "oon_likes": [None] * 3,
    ...                     "hide_rate": [None] * 3}}
    >>> paired = {"blend": {"impression": [1.23, 1.19, 1.27], "hides_per_1000": [0.5, 0.4, 0.6],
    ...                     "shadow_hides_per_1000": 0.0}}
    >>> [(t["metric"], t["met"]) for t in _targets(versus, arms, paired)]  # doctest: +NORMALIZE_WHITESPACE
    [('engagement_rate', True), ('oon_likes', True), ('hide_rate', False),
     ('paired_engagement_rate', False), ('paired_hides', False)]
    """
    out = []
    for name, row in versus.items():
        for key, bound, op in TARGETS:
            a = arms[name]["total"][key][0] or 0.0
            b = arms["timeline"]["total"][key][0] or 0.0
            ok = a >= bound * b and a > 0 if op == ">=" else a <= bound * b
            out.append({"arm": name, "metric": key, "ratio": row[key], "target": f"{op} {bound}",
                        "value": _r(a), "timeline": _r(b), "met": bool(ok)})  # fmt: skip
        if name not in (paired or {}):
            continue
        pair = paired[name]  # type: ignore[index]
        bound = TARGETS[0][1]
        ratio, hides, shadow = (
            pair["impression"],
            pair["hides_per_1000"],
            pair["shadow_hides_per_1000"],
        )
        out.append({"arm": name, "metric": "paired_engagement_rate", "ratio": ratio,
                    "target": f">= {bound}, whole interval", "value": None, "timeline": None,
                    "met": ratio[1] is not None and ratio[1] >= bound})  # fmt: skip
        out.append({"arm": name, "metric": "paired_hides", "ratio": [None] * 3,
                    "target": "<= the timelines', whole interval", "value": hides[0],
                    "timeline": shadow, "met": hides[2] is not None and hides[2] <= shadow})  # fmt: skip
    return out


def _replay_check(log: SimLog, m: Measures) -> dict[str, Any]:
    import numpy as np

    imp = m.cols["imp"].sum()
    like_rate = float(m.cols["like"].sum() / max(imp, 1))
    inside = n = 0
    arm = list(log.config.arms).index("replay")
    for _, r in log.impressions:
        mine = log.arm[np.searchsorted(log.users, r.user)] == arm
        inside += int(r.in_network[mine].sum())
        n += int(mine.sum())
    share = inside / max(n, 1)
    h = log.history
    ok_like = abs(like_rate - h.like_rate) <= REPLAY_TOLERANCE["like_rate"] * h.like_rate
    ok_share = abs(share - h.in_network_share) <= REPLAY_TOLERANCE["in_network_share"]
    return {
        "impressions": int(imp),
        "like_rate": _r(like_rate),
        "in_network_share": _r(share),
        "tolerance": REPLAY_TOLERANCE,
        "like_rate_ok": bool(ok_like),
        "in_network_share_ok": bool(ok_share),
    }


def _interleaving(log: SimLog, name: str) -> dict[str, Any]:
    """Per-user credit margins of the ``A+B`` arm, and the users each design needs."""
    import numpy as np

    from .interleave import users_needed

    arms = list(log.config.arms)
    a, b = name.split("+")
    teams = log.teams[name]
    group = {x: np.flatnonzero(log.arm == arms.index(x)) for x in (name, a, b) if x in arms}
    margin = np.zeros(len(log.users))
    engaged = np.zeros(len(log.users))
    for d, r in log.impressions:
        rows = np.searchsorted(log.users, r.user)
        np.add.at(engaged, rows, r.click)
        mine = np.flatnonzero((log.arm[rows] == arms.index(name)) & r.click)
        for i in mine.tolist():
            team = teams[(d, int(r.user[i]), int(r.post[i]))]
            margin[rows[i]] += 1.0 if team == 0 else -1.0
    if a not in group or b not in group:
        return {"error": f"the A/B comparison needs arms {a} and {b} in the run"}
    return users_needed(margin[group[name]], engaged[group[a]], engaged[group[b]], log.config.seed)
