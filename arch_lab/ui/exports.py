"""Files the app hands out (comparison CSV, design-set JSON): each in a fresh temporary directory.

No path is ever built from user text: the directory comes from :func:`tempfile.mkdtemp` and the file
names are fixed. Gradio copies a returned file into its own cache (cleaned by ``Blocks(delete_cache=…)``),
so our copies are only needed for a moment: each export removes all but the newest :data:`KEEP_COUNT`
directories (enough for the handlers running at once to finish handing theirs out), so however many
requests arrive, the disk holds a bounded number of them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pandas as pd

from arch_lab.export import comparison_to_csv, designs_to_json
from arch_lab.spec import ResNetSpec

KEEP_COUNT = 16


@cache
def _root() -> Path:
    """One directory per process under the system temporary directory (which gradio may serve from)."""
    return Path(tempfile.mkdtemp(prefix="arch_lab_exports_"))


def fresh_file(filename: str) -> Path:
    """``<new temporary directory>/<filename>``; ``filename`` is one of our fixed names."""
    root = _root()
    fresh = Path(tempfile.mkdtemp(dir=root))
    for old in sorted(root.iterdir(), key=_created)[:-KEEP_COUNT]:
        shutil.rmtree(old, ignore_errors=True)
    return fresh / filename


def _created(directory: Path) -> int:
    """Modification time in ns; 0 for a directory another thread removed meanwhile (it sorts first)."""
    try:
        return directory.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def write_comparison_csv(df: pd.DataFrame) -> str:
    path = fresh_file("comparison.csv")
    comparison_to_csv(df, path)
    return str(path)


def write_designs_json(designs: Sequence[ResNetSpec]) -> str:
    path = fresh_file("designs.json")
    path.write_text(designs_to_json(list(designs)), encoding="utf-8")
    return str(path)
