"""Named designs shipped as JSON files in ``presets/``; each file says where its design comes from."""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path

from arch_lab.errors import SpecError
from arch_lab.spec import ResNetSpec, load_spec_file

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"


def list_presets() -> list[str]:
    """Preset names, sorted."""
    return sorted(path.stem for path in PRESET_DIR.glob("*.json"))


def preset_source(name: str) -> str:
    """Where the preset's design comes from (paper, library), as written in its file."""
    return json.loads(_preset_path(name).read_text(encoding="utf-8"))["source"]


@cache
def load_preset(name: str) -> ResNetSpec:
    """The preset's spec; an unknown name raises SpecError suggesting the closest names."""
    return load_spec_file(_preset_path(name))


MAX_PRESET_NAME = 40
"""Longer text is no preset name; it is refused without the (quadratic) closest-name search."""


def _preset_path(name: str) -> Path:
    names = list_presets()
    if not isinstance(name, str) or len(name) > MAX_PRESET_NAME:
        shown = f"text of {len(name):,} characters" if isinstance(name, str) else f"a {type(name).__name__}"
        raise SpecError("preset", f"{shown} is not a preset name; preset names are at most {MAX_PRESET_NAME} "
                                  f"characters, e.g. {names[0]}")
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"available: {', '.join(names)}"
        raise SpecError("preset", f"unknown preset {name!r}; {hint}")
    return PRESET_DIR / f"{name}.json"


def resolve(name_or_file: str) -> ResNetSpec:
    """A preset name or a path to a spec JSON file (what the CLI and the app accept)."""
    if not isinstance(name_or_file, str):
        raise SpecError("design", f"expected a preset name or a file path, got {type(name_or_file).__name__}")
    if name_or_file.endswith(".json") or Path(name_or_file).is_file():
        return load_spec_file(name_or_file)
    return load_preset(name_or_file)
