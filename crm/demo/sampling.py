"""Small deterministic sampling helpers (everything draws from one random.Random)."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` in proportion to `weights`, exactly (largest remainder)."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def pick_weighted(rng: random.Random, items: Sequence, weights: Sequence[float],
                  k: int) -> list:
    """k distinct items, heavier ones likelier (Efraimidis–Spirakis keys)."""
    keyed = [(rng.random() ** (1.0 / w) if w > 0 else -1.0, i) for i, w in enumerate(weights)]
    keyed.sort(reverse=True)
    return [items[i] for _, i in keyed[:k]]


def cumulative(weights: Sequence[float]) -> list[float]:
    """Cumulative weights for rng.choices(cum_weights=…), which then bisects (fast)."""
    return list(accumulate(weights))


def log_uniform(rng: random.Random, low: float, high: float) -> float:
    return low * (high / low) ** rng.random()


class Dice:
    """Fast draws for the hot loops, from the same random.Random (so seeds still hold).

    The stdlib's choice/randint/choices cost 1–3 µs a call; a million appeals
    make ~15 million draws, so these one-liners over `random()` save most of
    the generator's time.
    """

    __slots__ = ("random",)

    def __init__(self, rng: random.Random) -> None:
        self.random = rng.random

    def int(self, low: int, high: int) -> int:
        """Uniform in [low, high], both included."""
        return low + int(self.random() * (high - low + 1))

    def pick(self, seq: Sequence):
        return seq[int(self.random() * len(seq))]

    def weighted(self, seq: Sequence, cum: Sequence[float]):
        """One of `seq`, weighted by the cumulative weights `cum`."""
        return seq[bisect_right(cum, self.random() * cum[-1])]
