"""The issue's property test: over many random rosters (several schools, grades and subgroups), after the
school and district suppression no shown cell has 0 < n < min_n, and no suppressed value can be recovered
by any combination of the additive equations.

The check is linear algebra written here independently of the code under test: every equation of the
district's tables (all = sum of the values, all grades = sum of the grades, district = sum of the schools)
with the shown values as knowns; a suppressed cell is recoverable exactly when its unit vector lies in the
row space of the unknowns' coefficient matrix (adding it as a row does not raise the matrix rank).
The same for the access figures (their denominator below_grade_count, hidden with `access_suppressed`).
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring.analytics.cells import (
    DIMENSION_VALUES,
    district_cells,
    suppress_district_cells,
    suppress_school_cells,
)
from monitoring.analytics.equity import school_cells
from monitoring.analytics.facts import SchoolFacts

Cell = tuple[Any, Any, str, str]  # (school or None, grade or None, dimension, value)

RACE_FLAGS = (
    "american_indian_or_alaska_native",
    "asian",
    "black_or_african_american",
    "native_hawaiian_or_other_pacific_islander",
    "white",
)


def table_equations(cells: Iterable[Mapping[str, Any]]) -> list[tuple[Cell, list[Cell]]]:
    """(total, parts) for every additive relation between the given table cells."""
    keys = {(c["school"], c["grade"], c["dimension"], c["value"]) for c in cells if c["section"] is None}
    schools = {s for s, _, _, _ in keys if s is not None}
    grades_of = {s: {g for s2, g, _, _ in keys if s2 == s and g is not None} for s in [*schools, None]}
    equations: list[tuple[Cell, list[Cell]]] = []
    for school in [*schools, None]:
        for grade in [*grades_of[school], None]:
            for dimension, values in DIMENSION_VALUES.items():
                if dimension != "all":
                    equations.append(((school, grade, "all", "all"), [(school, grade, dimension, v) for v in values]))
        for dimension, values in DIMENSION_VALUES.items():
            for value in values:
                parts = [(school, g, dimension, value) for g in grades_of[school]]
                equations.append(((school, None, dimension, value), parts))
    if (None, None, "all", "all") in keys:
        for grade in [*grades_of[None], None]:
            for dimension, values in DIMENSION_VALUES.items():
                for value in values:
                    parts = [(s, grade, dimension, value) for s in schools if (s, grade, dimension, value) in keys]
                    equations.append(((None, grade, dimension, value), parts))
    return equations


def _one_blas_thread() -> None:
    """numpy's OpenBLAS starts a thread per core and spins them; on a busy shared machine an SVD then runs
    ten times slower than on one thread. The wheel's library exposes a setter; without it, nothing changes."""
    for library in glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*")):
        for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads"):
            setter = getattr(ctypes.CDLL(library), name, None)
            if setter is not None:
                setter(1)
                return


_one_blas_thread()


def recoverable_cells(
    counts: Mapping[Cell, int], hidden: set[Cell], equations: Sequence[tuple[Cell, list[Cell]]]
) -> set[Cell]:
    """Hidden cells with n > 0 that the shown cells (and the zeros) determine.

    The equations' coefficients on the unknowns form a matrix A (the known values move to the right-hand
    side). An unknown x_j is determined exactly when e_j lies in the row space of A: appending e_j to A does
    not raise its rank. All cells at once: with V_r the right singular vectors of A's non-zero singular
    values (an orthonormal basis of the row space), that is when the projection V_r e_j has length 1."""
    unknowns = sorted((key for key in hidden if counts.get(key, 0) > 0), key=repr)
    column = {key: j for j, key in enumerate(unknowns)}
    rows = []
    for total, parts in equations:
        row = np.zeros(len(unknowns))
        if total in column:
            row[column[total]] += 1
        for part in parts:
            if part in column:
                row[column[part]] -= 1
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    matrix = np.array(rows)
    _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int((singular > 1e-8).sum())  # coefficients -1, 0, 1: non-zero singular values are far above this
    length = (vt[:rank] ** 2).sum(axis=0)
    return {unknowns[j] for j in range(len(unknowns)) if length[j] > 1 - 1e-6}


def rank_says_recoverable(counts: Mapping[Cell, int], hidden: set[Cell], equations, cell: Cell) -> bool:
    """The same question for one cell, asked literally: does appending e_j raise the rank?"""
    unknowns = sorted((key for key in hidden if counts.get(key, 0) > 0), key=repr)
    column = {key: j for j, key in enumerate(unknowns)}
    matrix = np.array(
        [
            [(1 if key == total else 0) - sum(1 for part in parts if part == key) for key in unknowns]
            for total, parts in equations
        ]
    )
    unit = np.zeros((1, len(unknowns)))
    unit[0, column[cell]] = 1
    return bool(np.linalg.matrix_rank(np.vstack([matrix, unit])) == np.linalg.matrix_rank(matrix))


def check_no_disclosure(cells: Sequence[Mapping[str, Any]], min_n: int) -> None:
    for c in cells:
        assert not (0 < c["n_students"] < min_n and not c["suppressed"]), c
        assert not (0 < c["below_grade_count"] < min_n and not c["access_suppressed"]), c
        assert c["access_suppressed"] or not c["suppressed"], c
    table = [c for c in cells if c["section"] is None]
    equations = table_equations(table)
    keys = [(c["school"], c["grade"], c["dimension"], c["value"]) for c in table]
    n = {key: c["n_students"] for key, c in zip(keys, table, strict=True)}
    below = {key: c["below_grade_count"] for key, c in zip(keys, table, strict=True)}
    hidden = {key for key, c in zip(keys, table, strict=True) if c["suppressed"]}
    hidden_access = {key for key, c in zip(keys, table, strict=True) if c["access_suppressed"]}
    assert recoverable_cells(n, hidden, equations) == set()
    # A district row hidden for its number of students can have a below-grade count that is just the sum
    # of the schools' shown below-grade counts: public already, never small, and hiding it protects nothing.
    for school, grade, dimension, value in recoverable_cells(below, hidden_access, equations):
        assert school is None and (None, grade, dimension, value) in hidden
        parts = [key for key in keys if key[0] is not None and key[1:] == (grade, dimension, value)]
        assert all(below[key] == 0 or key not in hidden_access for key in parts)
        assert below[(None, grade, dimension, value)] >= min_n


# --- random rosters -------------------------------------------------------------------------------------

students_strategy = st.fixed_dictionaries(
    {
        "grade": st.integers(3, 5),
        "sex": st.sampled_from(["female", "male", "other", "unspecified", None]),
        "hispanic_or_latino": st.booleans(),
        "two_or_more_races": st.booleans(),
        **{flag: st.booleans() for flag in RACE_FLAGS},
        "english_learner": st.booleans(),
        "iep": st.booleans(),
        "section_504": st.booleans(),
        "economically_disadvantaged": st.booleans(),
        "below_grade": st.booleans(),
    }
)
# Skewed demographics make more small cells than uniform ones.
rosters = st.lists(st.lists(students_strategy, min_size=1, max_size=45), min_size=1, max_size=3)


def facts_of(school_id: int, students: list[dict[str, Any]], first_id: int) -> SchoolFacts:
    rows = [{**s, "student_id": first_id + i} for i, s in enumerate(students)]
    return SchoolFacts(
        school_id=school_id,
        students=rows,
        below_grade=[r["student_id"] for r in rows if r["below_grade"]],
    )


def suppressed_district(roster: list[list[dict[str, Any]]], min_n: int) -> list[dict[str, Any]]:
    school_rows: list[dict[str, Any]] = []
    first = 1
    for school_id, students in enumerate(roster, start=1):
        cells = [c for c in school_cells(facts_of(school_id, students, first)) if c["section"] is None]
        suppress_school_cells(cells, min_n=min_n)
        check_no_disclosure(cells, min_n)  # each school on its own, before the district exists
        school_rows += cells
        first += len(students)
    district = district_cells(school_rows)
    suppress_district_cells(district, school_rows, min_n=min_n)
    return school_rows + district


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(roster=rosters, min_n=st.sampled_from([3, 10]))
def test_no_small_cell_is_shown_and_no_suppressed_value_is_recoverable(roster: list, min_n: int) -> None:
    cells = suppressed_district(roster, min_n)
    check_no_disclosure(cells, min_n)


def test_the_checker_finds_a_recoverable_cell() -> None:
    """The projection test is not vacuous, and it agrees with the literal rank test."""
    equations: list[tuple[Cell, list[Cell]]] = [
        ((1, None, "all", "all"), [(1, None, "iep", "yes"), (1, None, "iep", "no")]),
        ((1, None, "all", "all"), [(1, None, "sex", "female"), (1, None, "sex", "male")]),
    ]
    counts: dict[Cell, int] = {
        (1, None, "all", "all"): 30,
        (1, None, "iep", "yes"): 4,
        (1, None, "iep", "no"): 26,
        (1, None, "sex", "female"): 15,
        (1, None, "sex", "male"): 15,
    }
    one = {(1, None, "iep", "yes")}
    assert recoverable_cells(counts, one, equations) == one
    assert rank_says_recoverable(counts, one, equations, (1, None, "iep", "yes"))
    two = {(1, None, "iep", "yes"), (1, None, "iep", "no")}
    assert recoverable_cells(counts, two, equations) == set()
    assert not rank_says_recoverable(counts, two, equations, (1, None, "iep", "yes"))
    # The total hidden with one value of each dimension: all - female = male is still unknown, yet
    # (all - iep no) and (all - male) tie the hidden cells together without fixing any of them.
    three = {(1, None, "all", "all"), (1, None, "iep", "yes"), (1, None, "sex", "female")}
    assert recoverable_cells(counts, three, equations) == set()
    assert not any(rank_says_recoverable(counts, three, equations, cell) for cell in three)
