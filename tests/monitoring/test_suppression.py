"""Small-cell suppression (monitoring/analytics/suppression.py and cells.py) on hand-built tables.

Each table is small enough to check by eye; `recoverable` (written here with numpy's matrix rank, not with
the module's own null-space test) says which hidden cells the shown ones determine.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from monitoring.analytics.cells import (
    DIMENSION_VALUES,
    district_cells,
    district_equations,
    suppress_district_cells,
    suppress_school_cells,
)
from monitoring.analytics.suppression import Equation, median_from_distribution, suppress


def recoverable(counts: Mapping[Hashable, int], equations: Sequence[Equation], hidden: set[Hashable]) -> set:
    """Hidden cells (n > 0) whose unit vector lies in the row space of the unknowns' coefficient matrix:
    the shown values (and the zeros) determine them. Rank test: adding e_j as a row does not raise the rank."""
    unknowns = sorted((key for key in hidden if counts.get(key, 0) > 0), key=repr)
    column = {key: j for j, key in enumerate(unknowns)}
    rows = []
    for equation in equations:
        row = np.zeros(len(unknowns))
        if equation.total in column:
            row[column[equation.total]] += 1
        for part in equation.parts:
            if part in column:
                row[column[part]] -= 1
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    matrix = np.array(rows)
    rank = np.linalg.matrix_rank(matrix)
    found = set()
    for key, j in column.items():
        unit = np.zeros(len(unknowns))
        unit[j] = 1
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            found.add(key)
    return found


def grid(cells: dict[tuple[str, str], int]) -> tuple[dict, list[Equation]]:
    """A two-way table with margins: rows r*, columns c*, row totals (r, "+"), column totals ("+", c), ("+", "+")."""
    rows = sorted({r for r, _ in cells})
    columns = sorted({c for _, c in cells})
    counts = dict(cells)
    for r in rows:
        counts[(r, "+")] = sum(cells.get((r, c), 0) for c in columns)
    for c in columns:
        counts[("+", c)] = sum(cells.get((r, c), 0) for r in rows)
    counts[("+", "+")] = sum(cells.values())
    equations = [Equation((r, "+"), tuple((r, c) for c in columns)) for r in [*rows, "+"]]
    equations += [Equation(("+", c), tuple((r, c) for r in rows)) for c in [*columns, "+"]]
    return counts, equations


def test_a_small_cell_is_suppressed_with_the_smallest_other_part_of_its_equation():
    counts = {"all": 40, "a": 3, "b": 12, "c": 25}
    equations = [Equation("all", ("a", "b", "c"))]
    assert suppress(counts, equations, min_n=10) == {"a", "b"}


def test_when_only_the_total_is_left_the_total_is_suppressed():
    # b is zero: nothing to protect there, and known, so the total would give a away.
    counts = {"all": 3, "a": 3, "b": 0}
    assert suppress(counts, [Equation("all", ("a", "b"))], min_n=10) == {"all", "a"}


def test_empty_cells_are_not_suppressed_and_count_as_known():
    counts = {"all": 30, "a": 0, "b": 30}
    assert suppress(counts, [Equation("all", ("a", "b"))], min_n=10) == set()


def test_complementary_suppression_runs_to_a_fixpoint_across_equations():
    # r1 has one small cell; protecting it hides (r1, c2), which then leaves column c2 with one hidden cell.
    counts, equations = grid({("r1", "c1"): 4, ("r1", "c2"): 20, ("r2", "c1"): 30, ("r2", "c2"): 11})
    hidden = suppress(counts, equations, min_n=10)
    assert hidden == {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2")}
    assert recoverable(counts, equations, hidden) == set()


def test_a_cell_bridging_two_blocks_is_recoverable_from_several_equations_and_gets_protected():
    # Two 2x2 blocks of small cells joined by one small cell: every row and column has two hidden cells, so
    # the one-equation rule adds nothing, yet (r1 + r2 - c1 - c2) gives the bridge (r2, c3) away.
    small = {
        ("r1", "c1"): 2,
        ("r1", "c2"): 3,
        ("r2", "c1"): 4,
        ("r2", "c2"): 5,
        ("r3", "c3"): 6,
        ("r3", "c4"): 7,
        ("r4", "c3"): 8,
        ("r4", "c4"): 9,
        ("r2", "c3"): 1,
    }
    big = {(r, c): 50 for r in ("r1", "r2", "r3", "r4") for c in ("c1", "c2", "c3", "c4") if (r, c) not in small}
    counts, equations = grid({**big, **small})
    primary = set(small)
    assert recoverable(counts, equations, primary) == {("r2", "c3")}  # the trap is real

    hidden = suppress(counts, equations, min_n=10)

    assert primary < hidden
    assert recoverable(counts, equations, hidden) == set()


def test_cells_that_may_not_be_suppressed_are_left_alone():
    # The district step: school cells are final; only the district total may be added.
    counts = {"district": 40, "s1": 4, "s2": 36}
    hidden = suppress(
        counts, [Equation("district", ("s1", "s2"))], min_n=10, already={"s1"}, may_suppress=lambda k: k == "district"
    )
    assert hidden == {"s1", "district"}


def test_median_from_distribution():
    assert median_from_distribution({}) is None
    assert median_from_distribution({"0": 9, "1": 3, "2": 1, "3": 1}) == 0.0
    assert median_from_distribution({"0": 2, "1": 2, "2": 1, "3": 1}) == 1.0
    assert median_from_distribution({"1": 1, "4": 1}) == 2.5
    assert median_from_distribution({"7": 3}) == 7.0


def cell(school, grade, dimension, value, n, below=0, section=None):
    return {
        "school": school,
        "grade": grade,
        "section": section,
        "dimension": dimension,
        "value": value,
        "n_students": n,
        "grade_level_targets": 0,
        "grade_level_targets_mastered": 0,
        "below_grade_count": below,
        "access_count": 0,
        "open_alerts": 0,
        "growth_distribution": {"0": n} if n else {},
        "growth_median": 0.0 if n else None,
        "pacing_distribution": {},
    }


DEFAULTS = {"all": "all", "sex": "unspecified", "race_ethnicity": "not_reported"}


def student(grade: int, below: bool = False, **values: str) -> tuple[int, bool, dict[str, str]]:
    """A student of a cell table: their grade, whether below grade, and their value in each dimension
    (unspecified / not_reported / "no" unless given)."""
    return grade, below, {d: values.get(d, DEFAULTS.get(d, "no")) for d in DIMENSION_VALUES}


def one_school(school: int, students: Sequence[tuple[int, bool, dict[str, str]]]) -> list[dict]:
    """Every table cell of a school (every grade with students and all grades; every value, zeros too),
    counted from its students in plain Python. Every dimension partitions the students."""
    grades = sorted({grade for grade, _, _ in students})
    cells = []
    for grade in [*grades, None]:
        for dimension, values in DIMENSION_VALUES.items():
            for value in values:
                members = [
                    below for g, below, own in students if (grade is None or g == grade) and own[dimension] == value
                ]
                cells.append(cell(school, grade, dimension, value, len(members), sum(members)))
    return cells


def test_access_is_suppressed_on_its_own_denominator_and_with_the_hidden_rows():
    students = [student(5, below=i < 4, iep="yes") for i in range(12)]
    students += [student(5, below=i < 8, iep="no") for i in range(18)]
    cells = one_school(1, students)
    suppress_school_cells(cells, min_n=10)
    shown = {(c["grade"], c["dimension"], c["value"]) for c in cells if not c["suppressed"]}
    access = {(c["grade"], c["dimension"], c["value"]) for c in cells if not c["access_suppressed"]}
    assert {(5, "iep", "yes"), (5, "iep", "no"), (5, "all", "all"), (None, "all", "all")} <= shown
    # 4 below grade among IEP students is small; 8 among the others is then hidden too (12 - 4 would give it).
    assert (5, "iep", "yes") not in access and (5, "iep", "no") not in access
    assert (5, "all", "all") in access


def test_the_district_adds_suppression_only_to_its_own_cells():
    # School 1: 12 grade-5 girls, nothing small. School 2: 12 grade-5 girls and 4 grade-6 boys: its grade-6
    # cells are small, and hiding them hides its grade-5 cells too (the all-grades cells would give them away).
    school_1 = one_school(1, [student(5, sex="female") for _ in range(12)])
    school_2 = one_school(2, [student(5, sex="female") for _ in range(12)] + [student(6, sex="male") for _ in range(4)])
    for school in (school_1, school_2):
        suppress_school_cells(school, min_n=10)
    assert not any(c["suppressed"] for c in school_1)
    assert {(c["grade"], c["dimension"], c["value"]) for c in school_2 if c["suppressed"] and c["n_students"]} >= {
        (5, "all", "all"),
        (5, "sex", "female"),
        (6, "all", "all"),
        (6, "sex", "male"),
    }
    before = [dict(c) for c in school_1 + school_2]

    district = district_cells(school_1 + school_2)
    suppress_district_cells(district, school_1 + school_2, min_n=10)

    assert school_1 + school_2 == before  # the school rows are final
    by_key = {(c["grade"], c["dimension"], c["value"]): c for c in district}
    assert by_key[(5, "sex", "female")]["n_students"] == 24
    # Shown, the district's grade-5 cell minus school 1's would give school 2's away.
    assert by_key[(5, "sex", "female")]["suppressed"] and by_key[(5, "all", "all")]["suppressed"]
    assert by_key[(6, "all", "all")]["suppressed"]  # 4 students
    assert not by_key[(None, "all", "all")]["suppressed"]  # 28 students
    table = school_1 + school_2 + district
    counts = {(c["school"], c["grade"], c["dimension"], c["value"]): c["n_students"] for c in table}
    hidden = {key for key, c in zip(counts, table, strict=True) if c["suppressed"]}
    assert recoverable(counts, district_equations({1: [5], 2: [5, 6]}), hidden) == set()
