"""The simulation report: ``report.md`` (tables, targets, the replay check) and per-day charts.

The page and ``--json`` are built from the same :class:`~.summary.Summary`, so they hold the
same numbers. Charts need matplotlib (the ``eval`` extra), imported only here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .metrics import METRICS
from .summary import Summary

__all__ = ["LABELS", "markdown", "write_report"]

LABELS = {
    "engagement_rate": "engagements / impression",
    "like_rate": "likes / impression",
    "oon_likes": "out-of-network likes / user",
    "follows": "new follows / user",
    "hide_rate": "hides / impression",
    "authors": "distinct authors / user",
    "interest_coverage": "top-3 true topics seen",
    "topic_entropy": "topic entropy (bits)",
    "catalog_coverage": "catalog coverage",
    "utility": "expected likes / user",
    "utility_rate": "expected likes / impression",
}
#: The targets' rows on the paired measure (:func:`.summary._targets`).
TARGET_LABELS = {
    **LABELS,
    "paired_engagement_rate": "**paired**: engagements / impression over the same users' timelines",
    "paired_hides": "**paired**: expected hides per 1,000 expected impressions",
}


def _cell(v: list[float | None] | None, digits: int = 3) -> str:
    if v is None or v[0] is None:
        return "–"
    if v[1] is None or v[2] is None:
        return f"{v[0]:.{digits}f}"
    return f"{v[0]:.{digits}f} ({v[1]:.{digits}f}–{v[2]:.{digits}f})"


def markdown(summary: Summary, command: str = "") -> str:
    """The report page (deterministic: no timings, no paths)."""
    b = summary.body
    cfg = b["config"]
    arms = list(b["arms"])
    lines = [
        "# Closed-loop simulation: does explore help people discover?",
        "",
        f"{cfg['days']} simulated days from {b['start']}, {b['participants']:,} participants"
        f" split by a seeded hash into {len(arms)} arms ({', '.join(arms)}), feeds of"
        f" k = {cfg['k']}, seed {cfg['seed']}; {b['new_posts']:,} new posts arrived. Values are"
        " totals over the run with 95 % bootstrap intervals over the users of each arm"
        " (engagements = likes + comments + saves + shares).",
        "",
    ]
    if command:
        lines += ["```", command, "```", ""]
    lines += ["## Arms over the whole run", "", "| metric | " + " | ".join(arms) + " |"]
    lines.append("|---|" + "---|" * len(arms))
    for key in METRICS:
        row = [_cell(b["arms"][a]["total"][key]) for a in arms]
        lines.append(f"| {LABELS[key]} | " + " | ".join(row) + " |")
    best = f"Best arm by expected likes per user: **{b['best']}**"
    if "best_engine" in b and b["best_engine"] != b["best"]:
        best += f"; best arm the engine serves: **{b['best_engine']}**"
    lines += ["", best + ".", ""]
    if "of_oracle" in b:
        lines += ["## Gap to the oracle (expected likes, arm / oracle)", ""]
        lines += [f"- {a}: {_cell(v)}" for a, v in b["of_oracle"].items()]
        lines.append("")
    if "targets" in b:
        lines += ["## Targets against the timeline (issue 13 §4)", ""]
        lines += ["| arm | metric | arm | timeline | ratio | target | met |"]
        lines.append("|---|---|---|---|---|---|---|")
        for t in b["targets"]:
            met = "yes" if t["met"] else "**no**"
            paired = t["metric"].startswith("paired_")
            if t["ratio"][0] is not None:
                ratio = _cell(t["ratio"], 3 if paired else 2)
            else:
                ratio = "–" if paired else "– (timeline at 0)"
            value = "–" if t["value"] is None else t["value"]
            timeline = "–" if t["timeline"] is None else t["timeline"]
            lines.append(
                f"| {t['arm']} | {TARGET_LABELS[t['metric']]} | {value} | {timeline} | {ratio}"
                f" | {t['target']} | {met} |"
            )
        lines.append("")
    if "expected_versus_timeline" in b:
        lines += _ratio_table(
            ["Without sampling noise: expected likes (the sum of the world's P(like) over the"
             " same impressions), arm / timeline:"],
            ("per impression", "per user"), b["expected_versus_timeline"],
            ("utility_rate", "utility"), 2,
        )  # fmt: skip
    if "paired_timeline" in b:
        lines += _ratio_table(
            ["## Paired against the timeline (same users, same moments)", "",
             "Each session of an engine arm is also scored against the default timeline that"
             " user would have been served at that moment (never shown), both by their expected"
             " engagements under the world's model, with no draw (`simulation/paired.py`):"],
            ("engagements / impression", "engagements / user"), b["paired_timeline"],
            ("impression", "user"), 3,
        )  # fmt: skip
        lines += [
            "Expected hides per 1,000 expected impressions of the same lists (each post's chance"
            " of a hide when looked at and not clicked, no draw); a timeline's is 0, as the"
            " world never hides a followed author's post:",
            "",
            "| arm | the arm | its users' timelines |",
            "|---|---|---|",
            *(
                f"| {arm} | {_cell(v['hides_per_1000'], 3)} |"
                f" {_cell([v['shadow_hides_per_1000'], None, None], 3)} |"
                for arm, v in b["paired_timeline"].items()
            ),
            "",
        ]
    if "replay_check" in b:
        r, h = b["replay_check"], b["history"]
        lines += [
            "## Replay check (the generator's exposure, engine out of the loop)",
            "",
            f"- like rate: {r['like_rate']} simulated vs {h['like_rate']} in the history"
            f" (tolerance ±{int(r['tolerance']['like_rate'] * 100)} %):"
            f" {'ok' if r['like_rate_ok'] else 'OUT OF TOLERANCE'}",
            f"- in-network share of impressions: {r['in_network_share']} vs"
            f" {h['in_network_share']} (±{r['tolerance']['in_network_share']}):"
            f" {'ok' if r['in_network_share_ok'] else 'OUT OF TOLERANCE'}",
            "",
        ]
    for name, test in b.get("interleaving", {}).items():
        lines += [f"## Interleaving {name} against the A/B split", ""]
        if "error" in test:
            lines += [test["error"], ""]
            continue
        inter, ab = test["interleaving"], test["ab_split"]
        lines += [
            f"{test['users']} interleaved users: {test['wins']} preferred"
            f" {name.split('+')[0]}, {test['losses']} {name.split('+')[1]}, {test['ties']}"
            f" tied (sign test p = {test['p_value']}). Users needed for"
            f" {int(test['power'] * 100)} % power at p < {test['alpha']}: interleaving"
            f" {inter['needed'] or 'more than ' + str(inter['sizes'][-1])}, A/B split"
            f" {ab['needed'] or 'more than ' + str(ab['sizes'][-1])} (both arms together).",
            "",
            "| users | " + " | ".join(str(n) for n in inter["sizes"]) + " |",
            "|---|" + "---|" * len(inter["sizes"]),
            "| interleaving power | " + " | ".join(str(p) for p in inter["power"]) + " |",
            "",
            "| users | " + " | ".join(str(n) for n in ab["sizes"]) + " |",
            "|---|" + "---|" * len(ab["sizes"]),
            "| A/B power | " + " | ".join(str(p) for p in ab["power"]) + " |",
            "",
        ]
    lines += ["## Per day", ""]
    lines += [f"![{LABELS[k]}]({k}.png)" for k in METRICS]
    lines.append("")
    return "\n".join(lines)


def _ratio_table(
    intro: list[str], header: tuple[str, str], rows: dict[str, Any], keys: tuple[str, str],
    digits: int,
) -> list[str]:  # fmt: skip
    """Markdown lines: ``intro``, then one row per arm of two ratios with their intervals."""
    lines = [*intro, "", f"| arm | {header[0]} | {header[1]} |", "|---|---|---|"]
    for arm, v in rows.items():
        lines.append(f"| {arm} | {_cell(v[keys[0]], digits)} | {_cell(v[keys[1]], digits)} |")
    return [*lines, ""]


def _curves(ax: Any, summary: Summary, key: str) -> None:
    for name, arm in summary.body["arms"].items():
        days = list(range(1, len(arm["days"]) + 1))
        mid = [math.nan if d[key][0] is None else d[key][0] for d in arm["days"]]
        lo = [math.nan if d[key][1] is None else d[key][1] for d in arm["days"]]
        hi = [math.nan if d[key][2] is None else d[key][2] for d in arm["days"]]
        (line,) = ax.plot(days, mid, marker="o", markersize=3, label=name)
        ax.fill_between(days, lo, hi, alpha=0.15, color=line.get_color())
    ax.set_xlabel("day", fontsize=8)
    ax.set_title(f"{LABELS[key]} (95 % interval)", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)


def write_report(summary: Summary, directory: str | Path, command: str = "") -> list[Path]:
    """Write ``report.md`` and one per-day PNG chart per metric; returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(markdown(summary, command), encoding="utf-8")
    written = [out / "report.md"]
    for key in METRICS:
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        _curves(ax, summary, key)
        fig.tight_layout()
        fig.savefig(out / f"{key}.png", dpi=90, metadata={"Software": None})
        plt.close(fig)
        written.append(out / f"{key}.png")
    return written
