"""Small-cell suppression (DESIGN.md section 4), as pure functions over counts and additive equations.

A table is a mapping cell key -> count, plus the equations that hold between its cells
(`total = part + part + ...`). A cell is shown or suppressed; a shown cell publishes its count.

1. Primary: a cell with 0 < n < min_n is suppressed. A cell with n = 0 protects no one and is always
   treated as known.
2. Complementary, to a fixpoint: whenever an equation has exactly one suppressed member, that member
   could be recovered by subtraction, so the smallest unsuppressed other member (n > 0) is suppressed
   too — a part rather than the total when there is one; the total when only the total is left.
3. Audit: the rule above only looks at one equation at a time, and a suppressed cell can still be
   determined by combining several equations (a cell bridging two blocks of suppressed cells, as
   in a table of grades by subgroups). So the suppressed cells are checked with linear algebra: a
   suppressed cell is recoverable exactly when its unit vector lies in the row space of the unknowns'
   coefficient matrix (the known values go to the right-hand side). Each recoverable cell gets one more
   complementary suppression (chosen as in 2, among the members of its equations), and steps 2 and 3
   repeat until no suppressed cell is recoverable.

`may_suppress` limits which cells may be added (the district step may only add district cells: the
school rows are final); cells already suppressed are passed in `already`. Cells that the cells fixed as
shown determine on their own are public (see `_Table.exclude_public`): never chosen, never protected.
The loop always ends: with every other cell that may be suppressed hidden, only public values are
determined (the equations are homogeneous in the unknowns, and schools are independent of each other).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Key = Hashable

# Entries this close to zero after elimination are zero: the equations' coefficients are -1, 0 and 1, and
# elimination keeps them small rationals far from this.
ELIMINATION_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Equation:
    """`total` equals the sum of `parts` (cells missing from the table count as known zeros)."""

    total: Key
    parts: tuple[Key, ...]

    @property
    def members(self) -> tuple[Key, ...]:
        return (self.total, *self.parts)


def _always(_key: Key) -> bool:
    return True


def suppress(
    counts: Mapping[Key, int],
    equations: Sequence[Equation],
    *,
    min_n: int,
    already: Iterable[Key] = (),
    may_suppress: Callable[[Key], bool] = _always,
    sort_key: Callable[[Key], Any] = repr,
) -> set[Key]:
    """The suppressed cells of the table: `already` plus primary and complementary suppressions."""
    suppressed = set(already)
    suppressed |= {key for key, n in counts.items() if 0 < n < min_n and may_suppress(key)}
    table = _Table(counts, equations, may_suppress, sort_key)
    table.exclude_public(suppressed)
    while True:
        table.complete_single_unknowns(suppressed)
        recoverable = table.recoverable(suppressed)
        if not recoverable:
            return suppressed
        for cell in recoverable:
            suppressed.add(table.complement_for(cell, suppressed))


class _Table:
    def __init__(
        self,
        counts: Mapping[Key, int],
        equations: Sequence[Equation],
        may_suppress: Callable[[Key], bool],
        sort_key: Callable[[Key], Any],
    ) -> None:
        self.counts = counts
        self.equations = list(equations)
        self.may_suppress = may_suppress
        self.sort_key = sort_key
        self.public: set[Key] = set()  # determined by the cells that stay shown whatever is decided here
        self.equations_of: dict[Key, list[int]] = defaultdict(list)
        for index, equation in enumerate(self.equations):
            for member in equation.members:
                self.equations_of[member].append(index)

    def n(self, key: Key) -> int:
        return self.counts.get(key, 0)

    def unknown(self, key: Key, suppressed: set[Key]) -> bool:
        """A hidden value someone could want: suppressed, not zero, and not public."""
        return key in suppressed and self.n(key) > 0 and key not in self.public

    def _candidates(self, equation: Equation, suppressed: set[Key]) -> list[Key]:
        """Members that could be suppressed to protect a member of this equation: parts first."""
        eligible = [
            key
            for key in equation.members
            if key not in suppressed and self.n(key) > 0 and self.may_suppress(key) and key not in self.public
        ]
        parts = [key for key in eligible if key != equation.total]
        return sorted(parts or eligible, key=lambda key: (self.n(key), self.sort_key(key)))

    def exclude_public(self, suppressed: set[Key]) -> None:
        """Cells that the fixed shown cells determine even with every other cell hidden are public: hiding
        one protects nothing, so none is chosen as a complement, and one hidden already (a district row
        hidden for its number of students, whose below-grade count is the sum of the schools' shown counts)
        is known to everyone anyway. Only the district step has such cells: a district cell whose school
        cells are all shown. None is small: its school cells would be small and hidden."""
        fixed_shown = [key for key in self.counts if key not in suppressed and not self.may_suppress(key)]
        if not fixed_shown:
            return
        everything = suppressed | {key for key in self.counts if self.may_suppress(key)}
        unknowns = sorted((key for key in everything if self.unknown(key, everything)), key=self.sort_key)
        for block in self._blocks(unknowns, everything):
            self.public |= {key for key in self._determined(block, everything) if self.may_suppress(key)}

    def complete_single_unknowns(self, suppressed: set[Key]) -> None:
        """Step 2: no equation may be left with exactly one unknown member."""
        pending = list(range(len(self.equations)))
        while pending:
            index = pending.pop()
            equation = self.equations[index]
            unknown = [key for key in equation.members if self.unknown(key, suppressed)]
            if len(unknown) != 1:
                continue
            candidates = self._candidates(equation, suppressed)
            if not candidates:
                continue  # the audit finds the cell and looks further afield
            chosen = candidates[0]
            suppressed.add(chosen)
            pending.extend(self.equations_of[chosen])

    def recoverable(self, suppressed: set[Key]) -> list[Key]:
        """Step 3: the suppressed cells that the shown cells determine (one per connected block, so
        that each round adds the fewest complementary cells)."""
        unknowns = sorted((key for key in suppressed if self.unknown(key, suppressed)), key=self.sort_key)
        found: list[Key] = []
        for block in self._blocks(unknowns, suppressed):
            determined = self._determined(block, suppressed)
            if determined:
                found.append(determined[0])
        return found

    def _blocks(self, unknowns: list[Key], suppressed: set[Key]) -> list[list[Key]]:
        """Unknowns joined by shared equations (union-find); blocks are independent systems."""
        parent = {key: key for key in unknowns}

        def root(key: Key) -> Key:
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        for equation in self.equations:
            members = [key for key in equation.members if key in parent]
            for other in members[1:]:
                parent[root(other)] = root(members[0])
        blocks: dict[Key, list[Key]] = defaultdict(list)
        for key in unknowns:
            blocks[root(key)].append(key)
        return list(blocks.values())

    def _determined(self, block: list[Key], suppressed: set[Key]) -> list[Key]:
        column = {key: index for index, key in enumerate(block)}
        rows = {index for key in block for index in self.equations_of[key]}
        matrix = np.zeros((len(rows), len(block)))
        for row, index in enumerate(sorted(rows)):
            equation = self.equations[index]
            if equation.total in column:
                matrix[row, column[equation.total]] = 1.0
            for part in equation.parts:
                if part in column:
                    matrix[row, column[part]] -= 1.0
        return [block[i] for i in determined_columns(matrix)]

    def complement_for(self, cell: Key, suppressed: set[Key]) -> Key:
        """The cell to suppress so that `cell` is no longer determined: from its own equations first,
        then from any equation of its block."""
        for index in self.equations_of[cell]:
            candidates = self._candidates(self.equations[index], suppressed)
            if candidates:
                return candidates[0]
        nearby = {
            key
            for index in self.equations_of[cell]
            for member in self.equations[index].members
            for other in self.equations_of[member]
            for key in self._candidates(self.equations[other], suppressed)
        }
        if not nearby:
            nearby = {
                key
                for equation in self.equations
                if any(self.unknown(member, suppressed) for member in equation.members)
                for key in self._candidates(equation, suppressed)
            }
        if not nearby:
            raise RuntimeError(f"No cell left to suppress that would protect {cell!r}.")
        return min(nearby, key=lambda key: (self.n(key), self.sort_key(key)))


def determined_columns(matrix: np.ndarray) -> list[int]:
    """Columns j whose unit vector e_j lies in the row space of `matrix`: the unknowns the equations
    determine. In reduced row echelon form, e_j lies in the row space exactly when it is one of the rows
    (a pivot row has zeros in every other pivot column, so a combination equal to e_j is one row).

    Gauss-Jordan elimination with partial pivoting, in numpy element-wise operations: the coefficients
    are -1, 0 and 1 and stay small, and no multithreaded BLAS call competes for a busy machine's cores.
    """
    reduced = _row_echelon(matrix)
    magnitudes = np.abs(reduced)
    unit = (np.abs(magnitudes.sum(axis=1) - 1) < ELIMINATION_TOLERANCE) & (
        np.abs(magnitudes.max(axis=1, initial=0.0) - 1) < ELIMINATION_TOLERANCE
    )
    return sorted(int(np.argmax(magnitudes[row])) for row in np.flatnonzero(unit))


def _row_echelon(matrix: np.ndarray) -> np.ndarray:
    """The non-zero rows of the reduced row echelon form of `matrix`."""
    reduced = np.array(matrix, dtype=float)
    rows, columns = reduced.shape
    pivot = 0
    for column in range(columns):
        if pivot == rows:
            break
        best = pivot + int(np.argmax(np.abs(reduced[pivot:, column])))
        if abs(reduced[best, column]) < ELIMINATION_TOLERANCE:
            continue
        if best != pivot:
            reduced[[pivot, best]] = reduced[[best, pivot]]
        reduced[pivot] /= reduced[pivot, column]
        factors = reduced[:, column].copy()
        factors[pivot] = 0.0
        touched = np.flatnonzero(np.abs(factors) > ELIMINATION_TOLERANCE)
        if touched.size:
            reduced[touched] -= np.multiply.outer(factors[touched], reduced[pivot])
        reduced[np.abs(reduced) < ELIMINATION_TOLERANCE] = 0.0
        pivot += 1
    return reduced[:pivot]


def median_from_distribution(distribution: Mapping[str, int] | Mapping[int, int]) -> float | None:
    """The median of whole-number values given as {value: how many}; None when there are none."""
    items = sorted((int(value), count) for value, count in distribution.items() if count > 0)
    total = sum(count for _, count in items)
    if total == 0:
        return None
    lower_rank, upper_rank = (total - 1) // 2, total // 2
    seen, lower, upper = 0, None, None
    for value, count in items:
        if lower is None and seen + count > lower_rank:
            lower = value
        if seen + count > upper_rank:
            upper = value
            break
        seen += count
    assert lower is not None and upper is not None
    return (lower + upper) / 2
