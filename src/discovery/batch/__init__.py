"""Batch jobs over every user: candidate lists computed locally or on a Ray cluster
(``discovery batch``), written to the store and optionally to Parquet."""

from __future__ import annotations

from .candidates import BatchJob, candidate_block, user_blocks
from .runner import BatchSummary, run_candidates, write_parquet

__all__ = [
    "BatchJob",
    "BatchSummary",
    "candidate_block",
    "run_candidates",
    "user_blocks",
    "write_parquet",
]
