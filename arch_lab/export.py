"""Export a comparison as CSV, and designs (spec + report) as JSON that re-imports into equal specs.

Design names are user text and end up in spreadsheets: a text cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return would run as a formula (CSV injection, OWASP), so it is written with a
leading ``'``, which spreadsheets show as text. Numbers are written in full precision and read back
unchanged with ``pandas.read_csv``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from arch_lab.analysis import Report
from arch_lab.compare import as_report
from arch_lab.errors import SpecError
from arch_lab.spec import ResNetSpec, parse_json

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: Any) -> Any:
    """``cell`` made safe for a spreadsheet: text that would start a formula gets a leading ``'``."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def comparison_to_csv(df: pd.DataFrame, path: str | Path | None = None) -> str:
    """The comparison as CSV text (written to ``path`` too, when given), safe from formula injection."""
    safe = df.copy()
    safe.columns = [neutralise(str(column)) for column in df.columns]
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    # RFC 4180 line ends: a carriage return inside a name is then quoted instead of splitting the row
    text = safe.to_csv(index=False, lineterminator="\r\n")
    if path is not None:
        Path(path).write_text(text, encoding="utf-8", newline="")
    return text


def designs_to_json(items: Sequence[ResNetSpec | Report]) -> str:
    """``{"designs": [{"spec": {...}, "report": {...}}, ...]}``; a spec is analysed at its defaults."""
    designs = []
    for item in items:
        report = as_report(item)
        designs.append({"spec": report.spec.to_dict(), "report": report.to_dict()})
    return json.dumps({"designs": designs}, indent=2)


def designs_from_json(text: str, source: str = "designs JSON") -> list[ResNetSpec]:
    """The specs of a :func:`designs_to_json` export (reports are derived data and are not read).

    Raises :class:`SpecError` saying where the text is malformed: the line and column of bad JSON, or
    the design (``designs[1].spec``) and field of a bad spec.
    """
    data = parse_json(text, source)
    if not isinstance(data, dict) or not isinstance(data.get("designs"), list):
        raise SpecError(source, 'expected an object {"designs": [{"spec": {...}}, ...]}')
    specs = []
    for i, design in enumerate(data["designs"]):
        where = f"{source}: designs[{i}]"
        if not isinstance(design, dict) or "spec" not in design:
            raise SpecError(where, 'expected an object with a "spec" field')
        try:
            specs.append(ResNetSpec.from_dict(design["spec"]))
        except SpecError as exc:
            raise SpecError(f"{where}.spec", str(exc)) from None
    return specs
