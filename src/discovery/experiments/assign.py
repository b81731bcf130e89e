"""Which arm a user is in: a deterministic hash of the experiment and the user.

The same (experiment, account id) always lands in the same arm — across restarts, worker
processes and hosts — with no assignment table to keep, and different experiments split users
independently (the experiment name salts the hash). This is the usual hash-bucket assignment
of online experiments (Kohavi, Tang & Xu, *Trustworthy Online Controlled Experiments*, 2020,
ch. 4): ``u = H(experiment ":" account) / 2^64`` is uniform on [0, 1), and the user gets the
first arm ``i`` with ``100·u < split[0] + … + split[i]``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["arm_index", "unit_hash"]


def unit_hash(experiment: str, account: int) -> float:
    """A number in [0, 1) that depends only on ``experiment`` and ``account`` (BLAKE2b, the
    first 8 bytes of the digest as a big-endian integer over 2^64).

    >>> unit_hash("e", 1) == unit_hash("e", 1) != unit_hash("f", 1)
    True
    """
    digest = hashlib.blake2b(f"{experiment}:{int(account)}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def arm_index(experiment: str, account: int, split: Sequence[int]) -> int:
    """The arm (index into ``split``, whole percentages summing to 100) of ``account``.

    >>> arm_index("e", 1, [100]), arm_index("e", 1, [0, 100])
    (0, 1)
    """
    point = unit_hash(experiment, account) * 100.0
    total = 0
    for i, share in enumerate(split):
        total += share
        if point < total:
            return i
    return len(split) - 1  # only reached if the shares sum to less than 100
