"""Files the app hands out (comparison CSV, design-set JSON): each in a fresh temporary directory.

No path is ever built from user text: the directory comes from :func:`tempfile.mkdtemp` and the file
names are fixed. Gradio copies a returned file into its own cache (cleaned by ``Blocks(delete_cache=…)``),
so our copies are only needed for a moment; directories older than :data:`KEEP_S` are pruned on the next
export, which keeps a long-running public Space from filling its disk.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pandas as pd

from arch_lab.export import comparison_to_csv, designs_to_json
from arch_lab.spec import ResNetSpec

KEEP_S = 3600.0


@cache
def _root() -> Path:
    """One directory per process under the system temporary directory (which gradio may serve from)."""
    return Path(tempfile.mkdtemp(prefix="arch_lab_exports_"))


def fresh_file(filename: str) -> Path:
    """``<new temporary directory>/<filename>``; ``filename`` is one of our fixed names."""
    root = _root()
    cutoff = time.time() - KEEP_S
    for old in root.iterdir():
        if old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=root)) / filename


def write_comparison_csv(df: pd.DataFrame) -> str:
    path = fresh_file("comparison.csv")
    comparison_to_csv(df, path)
    return str(path)


def write_designs_json(designs: Sequence[ResNetSpec]) -> str:
    path = fresh_file("designs.json")
    path.write_text(designs_to_json(list(designs)), encoding="utf-8")
    return str(path)
