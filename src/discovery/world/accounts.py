"""Accounts of the synthetic world: latent interests, home communities, brands and ``me``.

Index convention used by every world module: arrays are indexed by ``i = account id - 1``;
index 0 is the demo user ``me``, indices ``1..n_brands`` are brand accounts, the rest are people.

Interests follow a two-level Dirichlet model: each community *c* has a topic profile
:math:`m_c \\sim \\mathrm{Dir}(\\beta_c)` concentrated on one topic group, and each person *u* in
*c* draws :math:`\\theta_u \\sim \\mathrm{Dir}(\\kappa (0.85\\, m_c + 0.15/T))` with a small total
concentration :math:`\\kappa`, which makes most people care about two or three topics (Blei,
Ng & Jordan 2003 use the same construction for documents).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..seed import child_rng
from .config import WorldConfig
from .themes import BRANDS, ME_INTERESTS, theme_named

__all__ = ["BRANDS", "ME_INTERESTS", "Accounts", "account_names", "make_accounts"]

_FIRST = [
    "anna",
    "ben",
    "chloe",
    "david",
    "emma",
    "felix",
    "grace",
    "hugo",
    "ida",
    "jonas",
    "kai",
    "lena",
    "max",
    "nora",
    "oscar",
    "paula",
    "quinn",
    "rosa",
    "sam",
    "tara",
    "uma",
    "victor",
    "wen",
    "xavi",
    "yara",
    "zoe",
    "ali",
    "bea",
    "carl",
    "dana",
    "eli",
    "fay",
    "gus",
    "hana",
    "ivan",
    "jade",
    "kim",
    "leo",
    "mia",
    "ned",
    "olga",
    "pia",
    "raj",
    "sara",
    "tom",
    "una",
    "vera",
    "will",
    "yuki",
    "zane",
]
_LAST = [
    "berg",
    "smith",
    "nguyen",
    "garcia",
    "muller",
    "rossi",
    "kowalski",
    "silva",
    "tanaka",
    "okafor",
    "larsen",
    "novak",
    "dubois",
    "jensen",
    "costa",
    "moreau",
    "patel",
    "schmidt",
    "ivanova",
    "santos",
    "walker",
    "meyer",
    "klein",
    "lopez",
]


@dataclass
class Accounts:
    """Latent account attributes (arrays indexed by account id - 1)."""

    kind: np.ndarray  # int8: 0 person, 1 brand
    community: np.ndarray  # int32, -1 for brands
    theta: np.ndarray  # float64 (n, T), rows sum to ~1, rounded to 4 decimals
    fitness: np.ndarray  # float64, popularity propensity (heavy-tailed)
    activity: np.ndarray  # float64, relative browsing activity (mean ~1)
    post_rate: np.ndarray  # float64, expected posts in the window
    created_at: np.ndarray  # int64

    @property
    def n(self) -> int:
        return len(self.kind)


def make_accounts(cfg: WorldConfig) -> Accounts:
    """Draw every account's latent attributes (vectorised; ~1 s per million accounts)."""
    rng = child_rng(cfg.seed, "accounts")
    theme = theme_named(cfg.theme)
    n_topics, n_brands, n = len(theme.topics), cfg.n_brands, cfg.n_accounts
    people = np.arange(n_brands + 1, n)
    n_comm = max(2, round(cfg.users / cfg.community_size))

    # Community profiles: concentrated on one topic group, a little of everything else.
    group_of = np.array([theme.groups.index(t.group) for t in theme.topics])
    comm_group = rng.choice(len(theme.groups), size=n_comm, p=theme.group_weights)
    beta = np.where(group_of[None, :] == comm_group[:, None], 0.5, 0.03)
    profile = _dirichlet_rows(rng, beta)

    # Heavy-ish community sizes: lognormal weights.
    size_w = rng.lognormal(0.0, 0.5, n_comm)
    community = np.full(n, -1, dtype=np.int32)
    community[people] = rng.choice(n_comm, size=len(people), p=size_w / size_w.sum())

    alpha = cfg.interest_concentration * n_topics / 4 * (0.85 * profile + 0.15 / n_topics)
    theta = np.zeros((n, n_topics))
    theta[people] = _dirichlet_rows(rng, alpha[community[people]])

    kind = np.zeros(n, dtype=np.int8)
    kind[1 : n_brands + 1] = 1
    for b, (_, _, topics) in enumerate(theme.brands[:n_brands]):
        for name in topics:
            theta[1 + b, theme.topic_index(name)] = 1.0 / len(topics)

    # The demo user: interests in one group, home in the community that shares them most.
    for name, w in theme.me_interests:
        theta[0, theme.topic_index(name)] = w
    me_topics = [theme.topic_index(t) for t, _ in theme.me_interests]
    community[0] = int(np.argmax(profile[:, me_topics].sum(axis=1)))
    theta = np.round(theta, 4)

    # Popularity propensity: Pareto tail for people (a few local stars), huge for brands.
    fitness = rng.pareto(1.6, n) + 1.0
    fitness[1 : n_brands + 1] = 2_000.0
    fitness[0] = 2.0
    activity = rng.lognormal(-0.32, 0.8, n)
    activity[1 : n_brands + 1] = 0.2
    activity[0] = 5.0
    post_rate = cfg.posts_per_user * rng.lognormal(-0.7, 1.2, n)
    post_rate[1 : n_brands + 1] = cfg.posts_per_user * 12
    post_rate[0] = 12.0
    created_at = cfg.now - cfg.window_days * 86_400 - rng.integers(0, 5 * 365 * 86_400, n)
    return Accounts(kind, community, theta, fitness, activity, post_rate, created_at)


def _dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    # One Dirichlet draw per row with its own concentration vector (normalised gammas).
    g = rng.standard_gamma(alpha)
    g[g.sum(axis=1) == 0, 0] = 1.0  # all-underflow rows (tiny alphas) get one topic
    return np.asarray(g / g.sum(axis=1, keepdims=True))


def account_names(
    ids: np.ndarray,
    seed: int,
    n_brands: int,
    brands: tuple[tuple[str, str, tuple[str, ...]], ...] = BRANDS,
) -> list[tuple[str, str]]:
    """``(handle, display_name)`` for account ids (deterministic per id, unique handles).

    ``brands`` are the theme's brand accounts (default: the drawn world's).

    >>> account_names(np.array([1, 2]), 42, 12)
    [('me', 'Me'), ('wildplanet', 'Wild Planet')]
    """
    rng = child_rng(seed, "names", int(ids[0]) if len(ids) else 0)
    first = rng.integers(0, len(_FIRST), len(ids))
    last = rng.integers(0, len(_LAST), len(ids))
    out = []
    for i, f, la in zip(ids.tolist(), first.tolist(), last.tolist(), strict=True):
        if i == 1:
            out.append(("me", "Me"))
        elif i <= n_brands + 1:
            out.append(brands[i - 2][:2])
        else:
            fn, ln = _FIRST[f], _LAST[la]
            out.append((f"{fn}.{ln}{i}", f"{fn.title()} {ln.title()}"))
    return out
