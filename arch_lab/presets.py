"""Named designs shipped as JSON files in ``presets/``; each file says where its design comes from.

They are read as package data (``arch_lab/preset_files``, a symlink to ``presets/`` in a checkout), so a
wheel carries them and the library works from any install, not only from a checkout."""

from __future__ import annotations

import difflib
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arch_lab.errors import SpecError
from arch_lab.spec import ResNetSpec, load_spec_file, parse_json

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

PRESET_DIR: Traversable = files("arch_lab") / "preset_files"
TIMM_PREFIX = "timm:"
"""Preset names with this prefix are timm models (``timm:resnet50d``)."""


def list_presets(timm: bool = False) -> list[str]:
    """Preset names, sorted; with ``timm``, then every supported timm model as ``timm:NAME``."""
    names = sorted(entry.name.removesuffix(".json") for entry in PRESET_DIR.iterdir() if entry.name.endswith(".json"))
    if timm:
        from arch_lab.timm_family import timm_models  # reads the catalog: only when asked for

        names += [TIMM_PREFIX + name for name in timm_models()]
    return names


def preset_source(name: str) -> str:
    """Where the preset's design comes from (paper, library), as written in its file."""
    return _preset_json(name)["source"]


@cache
def load_preset(name: str) -> ResNetSpec:
    """The preset's spec; ``timm:<model>`` is timm's model (:func:`arch_lab.timm_family.from_timm`). An
    unknown name raises SpecError suggesting the closest names."""
    if isinstance(name, str) and name.startswith(TIMM_PREFIX):
        from arch_lab.timm_family import from_timm  # reads the catalog: only when a timm model is asked for

        return from_timm(name)
    data = _preset_json(name)
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "source"}
    return ResNetSpec.from_dict(data)


MAX_PRESET_NAME = 40
"""Longer text is no preset name; it is refused without the (quadratic) closest-name search."""


def _preset_json(name: str) -> Any:
    """The preset file's JSON, through the same UTF-8 and size checks as any spec text."""
    shown = f"presets/{name}.json"
    try:
        text = _preset_file(name).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError("preset", f"{shown} is not UTF-8 text (byte {exc.start})") from None
    return parse_json(text, shown)


def _preset_file(name: str) -> Traversable:
    names = list_presets()
    if not isinstance(name, str) or len(name) > MAX_PRESET_NAME:
        shown = f"text of {len(name):,} characters" if isinstance(name, str) else f"a {type(name).__name__}"
        raise SpecError("preset", f"{shown} is not a preset name; preset names are at most {MAX_PRESET_NAME} "
                                  f"characters, e.g. {names[0]}")
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = (f"did you mean {', '.join(close)}?" if close else
                f"{len(names)} presets, e.g. {', '.join(names[:4])}; list them with: python -m arch_lab presets")
        raise SpecError("preset", f"unknown preset {name!r}; {hint}")
    return PRESET_DIR / f"{name}.json"


def resolve(name_or_file: str) -> ResNetSpec:
    """A preset name or a path to a spec JSON file (what the CLI and the app accept)."""
    if not isinstance(name_or_file, str):
        raise SpecError("design", f"expected a preset name or a file path, got {type(name_or_file).__name__}")
    if name_or_file.endswith(".json") or Path(name_or_file).is_file():
        return load_spec_file(name_or_file)
    return load_preset(name_or_file)
