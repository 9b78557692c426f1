"""The design set a user is comparing: pure data, no gradio, so every operation is unit-tested.

A :class:`DesignSet` is immutable: each operation returns a new set, which is what ``gr.State`` needs to
notice a change (it hashes the value) and what makes undo-free handlers simple. A design is identified by
its spec's ``name``; names are kept unique because the table, the charts and the CSV are keyed by them.
Every bad request raises :class:`SpecError`, which the UI shows as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from arch_lab.errors import SpecError
from arch_lab.presets import load_preset
from arch_lab.spec import MAX_NAME_CHARS, ResNetSpec

MAX_DESIGNS = 16
"""A public Space compares at most this many designs at once (the API's list cap is the same)."""
MAX_TEXT_CHARS = 100_000
"""Longest JSON text the app parses (the editor, the API); real design sets are a few KB."""
MAX_ANALYSIS_BATCH = 4096
"""Largest analysis batch size the app offers: the library's default ``max_batch_size`` (memory figures scale
with it; the analysis is arithmetic, so its cost does not)."""
INPUT_SIZE_RANGE = (32, 1024)
"""Square input sizes the app-wide control offers (a design's own editor accepts any valid size)."""
DEFAULT_DESIGNS = ("resnet18", "resnet50")
"""Presets a new session starts with (the first is the baseline), so every tab shows something at once."""


def unique_name(wanted: str, taken: Iterable[str]) -> str:
    """``wanted`` if free, else ``wanted-2``, ``wanted-3``, ... (names key the table and the charts), cut
    so that the suffixed name still fits :data:`MAX_NAME_CHARS`."""
    taken = set(taken)
    if wanted not in taken:
        return wanted
    n = 2
    while (name := f"{wanted[:MAX_NAME_CHARS - len(str(n)) - 1]}-{n}") in taken:
        n += 1
    return name


def clean_name(name: object) -> str:
    """A design name as typed, trimmed; empty or overlong names are refused."""
    if not isinstance(name, str) or not name.strip():
        raise SpecError("name", "a design needs a name, e.g. \"resnet18-wide\"")
    name = name.strip()
    if len(name) > MAX_NAME_CHARS:
        raise SpecError("name", f"{len(name)} characters is too long; use at most {MAX_NAME_CHARS}")
    return name


@dataclass(frozen=True)
class DesignSet:
    """The designs in the comparison, in order, and the name of the baseline the ratios are against."""

    designs: tuple[ResNetSpec, ...] = ()
    baseline: str | None = None
    batch_size: int = 1
    """Images per batch for the analyses (memory and MAC counts scale with it); the app-wide setting."""
    input_size: int | None = None
    """The app-wide input size the user applied (presets then load at it), or None: each design keeps its
    own (224 for an ImageNet preset, 32 for a CIFAR one)."""

    @classmethod
    def of(cls, specs: Iterable[ResNetSpec]) -> DesignSet:
        """A set holding ``specs`` in order (names made unique, the first is the baseline)."""
        result = cls()
        for spec in specs:
            result = result.add(spec)
        return result

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.designs)

    @property
    def baseline_index(self) -> int:
        """Position of the baseline (0 for an empty set, so it can be passed to ``compare`` as is)."""
        return self.names.index(self.baseline) if self.baseline in self.names else 0

    def __len__(self) -> int:
        return len(self.designs)

    def get(self, name: str) -> ResNetSpec:
        return self.designs[self._index(name)]

    def add(self, spec: ResNetSpec) -> DesignSet:
        """Append ``spec``; a taken name gets a ``-2`` suffix. The first design becomes the baseline."""
        if len(self.designs) >= MAX_DESIGNS:
            raise SpecError("designs", f"the comparison already holds {MAX_DESIGNS} designs, the most allowed; "
                                       "remove one first")
        name = unique_name(clean_name(spec.name), self.names)
        designs = (*self.designs, spec.replace(name=name) if name != spec.name else spec)
        return replace(self, designs=designs, baseline=self.baseline if self.baseline is not None else name)

    def update(self, name: str, spec: ResNetSpec) -> DesignSet:
        """Put ``spec`` in place of design ``name`` (same position; the baseline follows a renamed design)."""
        index = self._index(name)
        others = self.names[:index] + self.names[index + 1:]
        new_name = unique_name(clean_name(spec.name), others)
        designs = list(self.designs)
        designs[index] = spec.replace(name=new_name) if new_name != spec.name else spec
        return replace(self, designs=tuple(designs), baseline=new_name if self.baseline == name else self.baseline)

    def rename(self, name: str, new_name: str) -> DesignSet:
        new_name = clean_name(new_name)
        if new_name != name and new_name in self.names:
            raise SpecError("name", f"{new_name!r} is already used by another design; pick another name")
        return self.update(name, self.get(name).replace(name=new_name))

    def duplicate(self, name: str) -> DesignSet:
        """Insert a copy right after design ``name``, named ``<name>-copy`` (made unique)."""
        if len(self.designs) >= MAX_DESIGNS:
            raise SpecError("designs", f"the comparison already holds {MAX_DESIGNS} designs, the most allowed; "
                                       "remove one first")
        index = self._index(name)
        copy_name = unique_name(f"{name}-copy"[:MAX_NAME_CHARS], self.names)
        designs = list(self.designs)
        designs.insert(index + 1, designs[index].replace(name=copy_name))
        return replace(self, designs=tuple(designs))

    def remove(self, name: str) -> DesignSet:
        """Drop design ``name``; if it was the baseline, the first remaining design takes over."""
        index = self._index(name)
        designs = self.designs[:index] + self.designs[index + 1:]
        baseline = self.baseline if self.baseline != name else (designs[0].name if designs else None)
        return replace(self, designs=designs, baseline=baseline)

    def with_input_size(self, size: object) -> DesignSet:
        """Every design at ``size``×``size`` pixels, and presets loaded later too (the app-wide input size)."""
        size = checked_int("input size", size, *INPUT_SIZE_RANGE)
        return replace(self, designs=tuple(spec.replace(input_size=size) for spec in self.designs), input_size=size)

    def with_batch_size(self, batch_size: object) -> DesignSet:
        """The same designs analysed at ``batch_size`` images per batch."""
        return replace(self, batch_size=checked_int("analysis batch size", batch_size, 1, MAX_ANALYSIS_BATCH))

    def with_baseline(self, name: str) -> DesignSet:
        self._index(name)
        return replace(self, baseline=name)

    def _index(self, name: str) -> int:
        if name not in self.names:
            available = ", ".join(self.names) if self.names else "none yet"
            raise SpecError("design", f"no design named {name!r} in the comparison; designs: {available}")
        return self.names.index(name)


def checked_int(field: str, value: object, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]`` (a whole float from a number widget is fine), else SpecError."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(field, f"{str(value)[:20]!r} is not allowed; expected a whole number from {low} to {high}")
    return value


def default_designs() -> DesignSet:
    """The set a new session starts with: :data:`DEFAULT_DESIGNS` loaded from the presets."""
    return DesignSet.of(load_preset(name) for name in DEFAULT_DESIGNS)
