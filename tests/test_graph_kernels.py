"""Packaging of the numba kernels: lazy import, on-disk cache, module level, single-threaded."""

from __future__ import annotations

import subprocess
import sys

import pytest

from discovery.graph import warmup


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120
    )


def test_importing_the_package_neither_imports_numba_nor_compiles():
    out = run(
        "import sys, time; t = time.perf_counter(); import discovery, discovery.graph;"
        "assert 'numba' not in sys.modules, 'numba imported';"
        "assert 'discovery.graph._kernels' not in sys.modules;"
        "print(time.perf_counter() - t)"
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert float(out.stdout) < 3.0


def test_kernels_are_module_level_cached_nogil_and_serial():
    # Pitfall 7: kernels built inside a factory are recompiled in every process;
    # pitfall 8: prange kernels stall on a busy 2-core machine.
    from numba.core.registry import CPUDispatcher

    from discovery.graph import _kernels

    kernels = [v for v in vars(_kernels).values() if isinstance(v, CPUDispatcher)]
    assert len(kernels) >= 6
    for k in kernels:
        assert "<locals>" not in k.py_func.__qualname__, k
        assert type(k._cache).__name__ == "FunctionCache", f"{k.__name__} has no on-disk cache"
        assert k.targetoptions.get("nogil") is True, k
        assert not k.targetoptions.get("parallel"), k


@pytest.mark.slow
def test_a_new_process_loads_the_kernels_from_the_cache():
    warmup()  # compiles here if needed and writes the cache
    out = run(
        "from discovery.graph import warmup, _kernels; warmup();"
        "s = _kernels.approximate.stats; print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))"
    )
    assert out.returncode == 0, out.stderr
    hits, misses = map(int, out.stdout.split())
    assert hits >= 1 and misses == 0


def test_warmup_is_fast_once_compiled():
    warmup()
    assert warmup() < 1.0
