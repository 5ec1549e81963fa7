"""How a benchmark reports a figure: beside its goal, and beside a reference where one exists.

A module's `run()` yields rows; a row is either `(label, text)` (a figure without a goal) or
a `Figure`. The runner prints both and, at the end, every goal with "met" or by how much it
was missed. `scaled(n)` lets a developer run reduced sizes (`BENCH_SCALE=0.1 make bench`);
figures for the README come from full-size runs only, and the runner says when a run was not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def scale() -> float:
    return float(os.environ.get("BENCH_SCALE", "1"))


def scaled(count: int, *, minimum: int = 1) -> int:
    """`count` times BENCH_SCALE (at least `minimum`)."""
    return max(minimum, round(count * scale()))


@dataclass(frozen=True)
class Figure:
    """One measured figure. `goal` is met when the value is at least it (`higher_is_better`)
    or at most it; `reference` (Kener's figure) adds a ratio `value / reference`."""

    label: str
    value: float
    unit: str
    goal: float | None = None
    higher_is_better: bool = True
    reference: float | None = None
    reference_name: str = "Kener"
    digits: int = 0

    def _number(self, value: float) -> str:
        return f"{value:,.{self.digits}f}"

    @property
    def text(self) -> str:
        text = f"{self._number(self.value)} {self.unit}"
        if self.reference:
            text += f" = {self.value / self.reference:.2f}x {self.reference_name}"
            text += f" ({self._number(self.reference)})"
        return text

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal

    @property
    def goal_text(self) -> str:
        if self.goal is None:
            return ""
        sign = "≥" if self.higher_is_better else "≤"
        verdict = "met" if self.met else f"missed by {self.shortfall:.0%}"
        return f"goal {sign} {self._number(self.goal)} {self.unit}: {verdict}"

    @property
    def shortfall(self) -> float:
        """How far from the goal, as a fraction of it (0 when met)."""
        if self.goal is None or self.met:
            return 0.0
        if self.higher_is_better:
            return 1 - self.value / self.goal
        return self.value / self.goal - 1
