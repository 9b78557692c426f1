"""Files the app hands out (comparison and latency CSV, design-set JSON, ONNX models), each in a fresh
temporary directory.

No path is ever built from user text: the directory comes from :func:`tempfile.mkdtemp` and the file
names are fixed. Gradio copies a returned file into its own cache (cleaned by ``Blocks(delete_cache=…)``),
so our copies are only needed for a moment: each export removes all but the newest :data:`KEEP_COUNT`
directories (enough for the handlers running at once to finish handing theirs out), so however many
requests arrive, the disk holds a bounded number of them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pandas as pd

from arch_lab.export import comparison_to_csv
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


def designs_file_text(designs: Sequence[ResNetSpec]) -> str:
    """A saved design set: the specs only (``{"designs": [{"spec": {...}}, ...]}``, what
    ``designs_from_json`` reads). Reports are derived data, recomputed on opening; saving them made a
    16-design set (1.26 MB) too large to reopen."""
    return json.dumps({"designs": [{"spec": spec.to_dict()} for spec in designs]}, indent=1)


def write_designs_json(designs: Sequence[ResNetSpec]) -> str:
    path = fresh_file("designs.json")
    path.write_text(designs_file_text(designs), encoding="utf-8")
    return str(path)
