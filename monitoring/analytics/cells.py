"""The equity snapshot's cells as plain dicts: subgroup values, the additive equations between cells,
suppression of a school's cells and of the district's, and the district cells as sums of school cells.

No pandas and no ORM: plain values in, plain dicts out (equity.py computes a school's cells with pandas).
A cell dict has the EquitySnapshot field names: school, grade, section, dimension, value, the counts
(COUNT_FIELDS), growth_distribution, growth_median, pacing_distribution, suppressed, access_suppressed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from .suppression import Equation, Key, median_from_distribution, suppress

ALL = "all"
UNSPECIFIED = "unspecified"
NOT_REPORTED = "not_reported"
YES, NO = "yes", "no"

# Race flags in the order of the federal rule's single-race values (hispanic_or_latino comes first as
# an ethnicity; two_or_more_races is both a flag and the value for several race flags).
RACE_FLAGS = (
    "american_indian_or_alaska_native",
    "asian",
    "black_or_african_american",
    "native_hawaiian_or_other_pacific_islander",
    "white",
)
YES_NO_DIMENSIONS = ("english_learner", "iep", "section_504", "economically_disadvantaged")

# Every dimension partitions the students (one value each), in display order.
DIMENSION_VALUES: dict[str, tuple[str, ...]] = {
    ALL: (ALL,),
    "sex": ("female", "male", "other", UNSPECIFIED),
    "race_ethnicity": ("hispanic_or_latino", *RACE_FLAGS, "two_or_more_races", NOT_REPORTED),
    **{dimension: (YES, NO) for dimension in YES_NO_DIMENSIONS},
}

PACING_KEYS = ("ahead", "on_track", "at_risk", "off_track")  # best to worst

# Counts that add up across cells (the growth and pacing distributions add up too).
COUNT_FIELDS = (
    "n_students",
    "grade_level_targets",
    "grade_level_targets_mastered",
    "below_grade_count",
    "access_count",
    "open_alerts",
)


def race_ethnicity(flags: Mapping[str, Any]) -> str:
    """One value per student (the federal rule): hispanic_or_latino if that flag; else two_or_more_races
    if that flag or more than one race flag; else the single race flag; else not_reported."""
    if flags.get("hispanic_or_latino"):
        return "hispanic_or_latino"
    races = [flag for flag in RACE_FLAGS if flags.get(flag)]
    if flags.get("two_or_more_races") or len(races) > 1:
        return "two_or_more_races"
    return races[0] if races else NOT_REPORTED


def cell_key(cell: Mapping[str, Any]) -> tuple[int | None, int | None, str, str]:
    """(school, grade, dimension, value): a cell of the additive table (section cells are not in it)."""
    return (cell["school"], cell["grade"], cell["dimension"], cell["value"])


def key_order(key: Key) -> tuple:
    """Deterministic order of table keys with None (district, all grades) last."""
    school, grade, dimension, value = cast(tuple[int | None, int | None, str, str], key)
    return (school is None, school or 0, grade is None, grade or 0, dimension, value)


# --- the additive equations ----------------------------------------------------------------------------


def table_equations(school: int | None, grades: Sequence[int]) -> list[Equation]:
    """The equations inside one school's (or the district's) table:
    for each grade and all grades together, and each dimension: all students = sum of the values;
    for each dimension and value: the all-grades cell = sum of the grade cells."""
    equations = [
        Equation((school, grade, ALL, ALL), tuple((school, grade, dimension, value) for value in values))
        for grade in [*grades, None]
        for dimension, values in DIMENSION_VALUES.items()
        if dimension != ALL
    ]
    equations += [
        Equation((school, None, dimension, value), tuple((school, grade, dimension, value) for grade in grades))
        for dimension, values in DIMENSION_VALUES.items()
        for value in values
    ]
    return equations


def district_equations(school_grades: Mapping[int, Sequence[int]]) -> list[Equation]:
    """Every school's equations, the district table's own, and for each grade (and all grades),
    dimension and value: the district cell = sum of the school cells."""
    grades = sorted({grade for school_grades_ in school_grades.values() for grade in school_grades_})
    equations = table_equations(None, grades)
    for school, own in school_grades.items():
        equations += table_equations(school, own)
    schools = sorted(school_grades)
    for grade in [*grades, None]:
        for dimension, values in DIMENSION_VALUES.items():
            for value in values:
                parts = tuple(
                    (school, grade, dimension, value)
                    for school in schools
                    if grade is None or grade in school_grades[school]
                )
                equations.append(Equation((None, grade, dimension, value), parts))
    return equations


# --- suppression -----------------------------------------------------------------------------------------


def _grades_of(cells: Iterable[Mapping[str, Any]]) -> list[int]:
    return sorted({cell["grade"] for cell in cells if cell["grade"] is not None})


def _flag(cells: list[dict[str, Any]], suppressed: set[Key], access: set[Key]) -> None:
    for cell in cells:
        key = cell_key(cell)
        cell["suppressed"] = key in suppressed
        cell["access_suppressed"] = key in suppressed or key in access


def _suppress_both(
    cells: list[dict[str, Any]],
    equations: list[Equation],
    *,
    min_n: int,
    fixed: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Suppress `cells` (their flags are set here) given `fixed` cells whose flags are final.

    The whole row first, on n_students; then the access figures on their own denominator
    below_grade_count, where a suppressed row's below-grade count is already hidden.
    """
    mine = {cell_key(cell) for cell in cells}
    table = [*cells, *fixed]

    def may_suppress(key: Key) -> bool:
        return key in mine

    rows = suppress(
        {cell_key(cell): cell["n_students"] for cell in table},
        equations,
        min_n=min_n,
        already={cell_key(cell) for cell in fixed if cell["suppressed"]},
        may_suppress=may_suppress,
        sort_key=key_order,
    )
    access = suppress(
        {cell_key(cell): cell["below_grade_count"] for cell in table},
        equations,
        min_n=min_n,
        already=rows | {cell_key(cell) for cell in fixed if cell["access_suppressed"]},
        may_suppress=may_suppress,
        sort_key=key_order,
    )
    _flag(cells, rows, access)


def suppress_section_cells(cells: list[dict[str, Any]], *, min_n: int) -> None:
    """Section rows show aggregates only and add up to nothing (sections overlap): a small section, or a
    small below-grade group within it, is suppressed on its own."""
    for cell in cells:
        cell["suppressed"] = 0 < cell["n_students"] < min_n
        cell["access_suppressed"] = cell["suppressed"] or 0 < cell["below_grade_count"] < min_n


def suppress_school_cells(cells: list[dict[str, Any]], *, min_n: int) -> None:
    """Set `suppressed` and `access_suppressed` on one school's cells (table cells and section cells)."""
    table = [cell for cell in cells if cell["section"] is None]
    sections = [cell for cell in cells if cell["section"] is not None]
    schools = {cell["school"] for cell in table}
    if len(schools) > 1:
        raise ValueError(f"Cells of one school expected, got schools {sorted(schools, key=str)}.")
    if table:
        _suppress_both(table, table_equations(table[0]["school"], _grades_of(table)), min_n=min_n)
    suppress_section_cells(sections, min_n=min_n)


def suppress_district_cells(
    district: list[dict[str, Any]], schools: Sequence[Mapping[str, Any]], *, min_n: int
) -> None:
    """Set the flags of the district-as-a-whole cells so that nothing is recoverable across schools.
    The school cells (with their final flags) are only read: only district cells are added."""
    school_grades: dict[int, list[int]] = {}
    for cell in schools:
        grades = school_grades.setdefault(cell["school"], [])
        if cell["grade"] is not None and cell["grade"] not in grades:
            grades.append(cell["grade"])
    equations = district_equations({school: sorted(grades) for school, grades in school_grades.items()})
    _suppress_both(district, equations, min_n=min_n, fixed=schools)


# --- the district as a whole -------------------------------------------------------------------------------


def _add_distribution(total: dict[str, int], part: Mapping[str, int]) -> None:
    for key, count in part.items():
        total[str(key)] = total.get(str(key), 0) + int(count)


def district_cells(school_cells: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The district as a whole: each (grade, dimension, value) cell summed over the schools' table cells
    (section cells are left out), the growth median taken from the summed distribution. Unsuppressed."""
    totals: dict[tuple[int | None, str, str], dict[str, Any]] = {}
    for cell in school_cells:
        if cell["section"] is not None:
            continue
        key = (cell["grade"], cell["dimension"], cell["value"])
        total = totals.setdefault(
            key,
            {
                "school": None,
                "grade": key[0],
                "section": None,
                "dimension": key[1],
                "value": key[2],
                **dict.fromkeys(COUNT_FIELDS, 0),
                "growth_distribution": {},
                "pacing_distribution": dict.fromkeys(PACING_KEYS, 0),
            },
        )
        for field in COUNT_FIELDS:
            total[field] += cell[field]
        _add_distribution(total["growth_distribution"], cell["growth_distribution"])
        _add_distribution(total["pacing_distribution"], cell["pacing_distribution"])
    result = []
    for key in sorted(totals, key=lambda k: key_order((None, *k))):
        total = totals[key]
        total["growth_distribution"] = dict(sorted(total["growth_distribution"].items(), key=lambda kv: int(kv[0])))
        total["growth_median"] = median_from_distribution(total["growth_distribution"])
        result.append(total)
    return result
