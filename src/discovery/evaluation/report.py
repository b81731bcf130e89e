"""The evaluation report: Markdown tables, target checks and matplotlib charts.

``report.md`` and ``--json`` are built from the same :class:`Evaluation`, so the numbers in the
page and in the JSON are the same numbers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..store import to_iso
from .harness import METRICS, Evaluation

__all__ = [
    "CHART_METRICS",
    "format_cell",
    "markdown",
    "metric_label",
    "targets",
    "write_report",
]

#: One chart per headline metric (and the all-metrics grid).
CHART_METRICS = ("ndcg", "recall", "coverage", "oracle_fraction", "novelty", "author_top_share")
_BASELINES_EXCLUDED = ("blend", "oracle")
_HEADLINE = ("ndcg", "recall", "precision", "map", "hit_rate", "coverage", "oracle_fraction")
_BEYOND = ("diversity", "novelty", "author_top_share", "author_gini", "fresh_share")


def format_cell(v: tuple[float, float, float] | None, digits: int = 3) -> str:
    if v is None or math.isnan(v[0]):
        return "–"
    if math.isnan(v[1]):
        return f"{v[0]:.{digits}f}"
    return f"{v[0]:.{digits}f} ({v[1]:.{digits}f}–{v[2]:.{digits}f})"


def targets(ev: Evaluation) -> list[dict[str, Any]]:
    """The issue's targets for the blended engine, checked: name, value, goal, met, gap."""
    out: list[dict[str, Any]] = []
    rows = ev.metrics
    if "blend" not in rows:
        return out
    blend = rows["blend"]
    others = {s: r["ndcg"][0] for s, r in rows.items() if s not in _BASELINES_EXCLUDED}
    if others:
        best = max(others, key=lambda s: others[s])
        ratio = blend["ndcg"][0] / others[best] if others[best] > 0 else math.inf
        out.append(
            {
                "target": f"NDCG@{ev.protocol.k} of blend ≥ 1.2 × best other strategy ({best})",
                "value": ratio,
                "goal": 1.2,
                "met": ratio >= 1.2,
                "text": f"{blend['ndcg'][0]:.3f} vs {others[best]:.3f} = {ratio:.2f}×",
            }
        )
    if "oracle_fraction" in blend:
        v = blend["oracle_fraction"][0]
        out.append(
            {
                "target": "NDCG of blend ≥ 80 % of the oracle's",
                "value": v,
                "goal": 0.8,
                "met": v >= 0.8,
                "text": f"{100 * v:.0f} %",
            }
        )
    v = blend["coverage"][0]
    out.append(
        {
            "target": "catalog coverage of blend ≥ 30 %",
            "value": v,
            "goal": 0.3,
            "met": v >= 0.3,
            "text": f"{100 * v:.1f} % (ceiling {100 * ev.info.get('coverage_ceiling', 1):.0f} %)",
        }
    )
    share = ev.feeds.get("blend", {}).get("max_author_share", math.nan)
    if not math.isnan(share):
        over = ev.feeds["blend"]["share_of_feeds_over_20pct"]
        out.append(
            {
                "target": "no author above 20 % of any blend feed",
                "value": share,
                "goal": 0.2,
                "met": share <= 0.2,
                "text": f"largest share {100 * share:.0f} %; {100 * over:.1f} % of feeds above 20 %",
            }
        )
    return out


def _protocol_text(ev: Evaluation) -> str:
    p, info = ev.protocol, ev.info
    folds = info.get("folds", [])
    inv = (
        "**fresh inventory**: feeds are served at the end of each step by an engine whose signals "
        "stopped at the cut, so posts published during the step are candidates (zero likes, no "
        "post-cut signal)"
        if p.inventory == "step"
        else "**cut inventory**: feeds are served at the cut; only posts taken before it exist"
    )
    days = ev.settings.get("window_days")
    first = to_iso(folds[0]["cut"]) if folds else "–"
    last = to_iso(folds[-1]["end"]) if folds else "–"
    pos = sum(f["positives"] for f in folds)
    findable = sum(f["findable"] for f in folds)
    return (
        f"Rolling temporal hold-out over {first} … {last}: {len(folds)} step(s) of "
        f"{p.step / 86_400:g} day(s). For each step the engine is rebuilt from the data as of "
        f"the cut (follows, likes, comments, counts, seen sets, hashtag statistics); {inv}. "
        f"Every strategy ranks the same catalog — posts of the {days:g}-day window at serving "
        f"time, minus the user's own, already-opened and hidden posts. The test set of a user is "
        f"the catalog posts they liked, commented or saved during the step. {pos:,} positive "
        f"(user, post) pairs fell in the hold-out; {findable:,} "
        f"({100 * findable / max(pos, 1):.0f} %) were findable (in the catalog, unseen). "
        f"{info.get('users', 0)} users (seed {p.seed}) with something to find, "
        f"{info.get('lists', 0)} feeds of k = {p.k} per strategy; intervals are 95 % percentile "
        f"bootstrap over users ({p.samples} resamples, paired across strategies)."
    )


def markdown(ev: Evaluation, command: str = "") -> str:
    """The report page."""
    names = ev.strategies
    lines = [f"# Offline evaluation: {ev.dataset or 'dataset'}", ""]
    data = ev.info.get("data")
    if data:
        lines += [
            f"Data: {data['accounts']:,} accounts, {data['follows']:,} follows, "
            f"{data['posts']:,} posts, {data['interactions']:,} interactions"
            + (f" ({data['source']})" if data.get("source") else "")
            + ".",
            "",
        ]
    lines += [_protocol_text(ev), ""]
    if command:
        lines += ["Reproduce:", "", "```", command, "```", ""]
    if ev.info.get("empty"):
        lines += [
            f"Not scored — no feed for any user on this data: {', '.join(ev.info['empty'])} "
            "(they need authors or follows that the data does not have).",
            "",
        ]
    for title, group in (("Accuracy", _HEADLINE), ("Beyond accuracy", _BEYOND)):
        keys = [k for k in group if any(k in ev.metrics[s] for s in names)]
        lines += [f"## {title}", ""]
        lines.append(
            "| strategy | " + " | ".join(metric_label(k, ev.protocol.k) for k in keys) + " |"
        )
        lines.append("|---" * (len(keys) + 1) + "|")
        for s in names:
            cells = [format_cell(ev.metrics[s].get(k)) for k in keys]
            lines.append(f"| {s} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Targets (blended engine)", ""]
    for t in targets(ev):
        lines.append(f"- {'✅' if t['met'] else '❌'} {t['target']}: {t['text']}")
    lines += ["", "## Feeds", "", "| strategy | feeds | short feeds | largest author share | "
              "feeds with an author above 20 % | seconds |", "|---|---|---|---|---|---|"]  # fmt: skip
    for s in names:
        f = ev.feeds.get(s, {})
        share = f.get("max_author_share", math.nan)
        lines.append(
            f"| {s} | {f.get('feeds', 0):.0f} | {f.get('short_feeds', 0):.0f} | "
            f"{'–' if math.isnan(share) else f'{100 * share:.0f} %'} | "
            f"{100 * f.get('share_of_feeds_over_20pct', 0):.1f} % | "
            f"{ev.info.get('seconds', {}).get(s, 0):.1f} |"
        )
    lines += ["", "## Strategies", ""]
    lines += [f"- **{s}**: {ev.describe.get(s, '')}" for s in names]
    lines += ["", "## Metrics", ""]
    lines += [f"- **{k}**: {desc}" for k, (desc, _) in METRICS.items()]
    lines += ["", "## Folds", "", "| cut | served at | catalog | positives | findable | users |"]
    lines.append("|---|---|---|---|---|---|")
    for f in ev.info.get("folds", []):
        lines.append(
            f"| {to_iso(f['cut'])} | {to_iso(f['serve_at'])} | {f['catalog']:,} | "
            f"{f['positives']:,} | {f['findable']:,} | {f['users']:,} |"
        )
    charts = [f"![{k}]({k}.png)" for k in CHART_METRICS if _has(ev, k)]
    lines += ["", "## Charts", "", "![all metrics](metrics.png)", "", *charts, ""]
    return "\n".join(lines)


def metric_label(key: str, k: int) -> str:
    labels = {"ndcg": f"NDCG@{k}", "recall": f"recall@{k}", "precision": f"precision@{k}"}
    labels |= {"map": f"MAP@{k}", "hit_rate": f"hit rate@{k}", "oracle_fraction": "of oracle"}
    labels |= {"author_top_share": "top author share", "author_gini": "author Gini"}
    labels |= {"fresh_share": "fresh share"}
    return labels.get(key, key)


def _has(ev: Evaluation, key: str) -> bool:
    return any(key in row and not math.isnan(row[key][0]) for row in ev.metrics.values())


def _bars(ax: Any, ev: Evaluation, key: str) -> None:
    names = [s for s in ev.strategies if key in ev.metrics[s]]
    vals = [ev.metrics[s][key] for s in names]
    y = range(len(names))
    mid = [0.0 if math.isnan(v[0]) else v[0] for v in vals]
    err = [
        [0.0 if math.isnan(v[1]) else max(v[0] - v[1], 0) for v in vals],
        [0.0 if math.isnan(v[2]) else max(v[2] - v[0], 0) for v in vals],
    ]
    colors = [
        "#d62728" if s == "blend" else "#7f7f7f" if s == "oracle" else "#1f77b4" for s in names
    ]
    ax.barh(list(y), mid, xerr=err, color=colors, capsize=2)
    ax.set_yticks(list(y), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_title(metric_label(key, ev.protocol.k), fontsize=9)
    ax.tick_params(axis="x", labelsize=7)


def write_report(ev: Evaluation, directory: str | Path, command: str = "") -> list[Path]:
    """Write ``report.md``, ``metrics.png`` (every metric) and one PNG per headline metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.md"]
    (out / "report.md").write_text(markdown(ev, command), encoding="utf-8")
    keys = [k for k in METRICS if _has(ev, k)]
    cols = 4
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, key in zip(axes.ravel(), keys, strict=False):
        _bars(ax, ev, key)
    for ax in axes.ravel()[len(keys) :]:
        ax.axis("off")
    fig.suptitle(f"{ev.dataset}: strategies × metrics (95 % bootstrap intervals)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "metrics.png", dpi=90)
    plt.close(fig)
    written.append(out / "metrics.png")
    for key in CHART_METRICS:
        if not _has(ev, key):
            continue
        fig, ax = plt.subplots(figsize=(5, 3))
        _bars(ax, ev, key)
        ax.set_title(
            f"{ev.dataset}: {metric_label(key, ev.protocol.k)} (95 % interval)", fontsize=9
        )
        fig.tight_layout()
        fig.savefig(out / f"{key}.png", dpi=90)
        plt.close(fig)
        written.append(out / f"{key}.png")
    return written
