"""A thread-safe LRU cache bounded by the total *size* of what it holds, not by its number of entries.

The analysers cache plans and reports so the app answers instantly, but one plan of a 1,000-block design
is ~9,000 layers (~3 MB) while resnet18's is 60: a count-bounded ``lru_cache`` would let a few hundred big
designs take gigabytes. Weighing each entry (layers held) gives a memory bound that a stream of distinct
requests cannot exceed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class WeightedLRU(Generic[V]):
    """Keeps the most recently used values whose weights sum to at most ``max_weight``.

    A value heavier than ``max_weight`` is returned but not kept. Values are computed outside the lock, so
    a slow computation never blocks readers of other keys (two threads may compute the same key once each).
    """

    def __init__(self, max_weight: int, weigh: Callable[[V], int]) -> None:
        self.max_weight = max_weight
        self._weigh = weigh
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    @property
    def weight(self) -> int:
        """The summed weight of the values held now."""
        return self._weight

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The cached value for ``key``, or ``make()``'s, which is then cached (evicting the least recently
        used values until the total weight fits)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        value = make()
        weight = self._weigh(value)
        if weight > self.max_weight:
            return value
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, weight)
                self._weight += weight
                while self._weight > self.max_weight:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self._weight -= dropped
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._weight = 0
