"""A benchmark is run as `python bench/<name>.py`, which puts bench/ first on sys.path: a script named like a
standard-library module (bench/platform.py did) breaks every other benchmark that imports it indirectly."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_no_benchmark_shadows_the_standard_library() -> None:
    names = {p.stem for p in BENCH.glob("*.py")}
    assert names and not names & set(sys.stdlib_module_names), names & set(sys.stdlib_module_names)
