"""Small helpers for the benchmarks: percentiles and a uniform way to print figures."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds per call, ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def report(name: str, samples_ms: Sequence[float], unit: str = "ms") -> dict[str, float]:
    p50, p95 = percentile(samples_ms, 0.5), percentile(samples_ms, 0.95)
    fmt = "{:.3f}" if p95 < 10 else "{:.1f}"
    print(f"{name:<44} p50 {fmt.format(p50)} {unit}   p95 {fmt.format(p95)} {unit}"
          f"   (n={len(samples_ms)}, mean {statistics.fmean(samples_ms):.3f})")
    return {"p50": p50, "p95": p95}
