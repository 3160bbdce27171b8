"""One school's equity cells for one night, with pandas: plain rows in, plain dicts out.

The caller (monitoring/selectors.py) reads the rows with a few set-based queries; nothing here touches
the database. One school at a time: a frame holds one row per student of one school, never a district.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .cells import ALL, DIMENSION_VALUES, NO, PACING_KEYS, UNSPECIFIED, YES, YES_NO_DIMENSIONS, race_ethnicity
from .facts import SchoolFacts

# The figures summed per cell, from the per-student frame's columns.
SUMMED = {
    "grade_level_targets": "targets",
    "grade_level_targets_mastered": "mastered",
    "below_grade_count": "below_grade",
    "access_count": "access",
    "open_alerts": "alerts",
}
PACING_RANK = {status: rank for rank, status in enumerate(PACING_KEYS)}


def _yes_no(value: Any) -> str:
    return YES if value else NO


def _students_frame(facts: SchoolFacts) -> pd.DataFrame:
    """One row per student: grade, a column per dimension holding the student's value, and the figures."""
    rows = [
        {
            "student_id": row["student_id"],
            "grade": int(row["grade"]),
            ALL: ALL,
            "sex": row.get("sex") or UNSPECIFIED,
            "race_ethnicity": race_ethnicity(row),
            **{dimension: _yes_no(row.get(dimension)) for dimension in YES_NO_DIMENSIONS},
        }
        for row in facts.students
    ]
    frame = pd.DataFrame(rows, columns=["student_id", "grade", *DIMENSION_VALUES]).set_index("student_id")
    targets = pd.DataFrame(list(facts.targets), columns=["student_id", "targets", "mastered"]).set_index("student_id")
    frame = frame.join(targets)
    frame["growth"] = pd.Series(dict(facts.growth), dtype="int64")
    frame["alerts"] = pd.Series(dict(facts.open_alerts), dtype="int64")
    frame[["targets", "mastered", "growth", "alerts"]] = (
        frame[["targets", "mastered", "growth", "alerts"]].fillna(0).astype("int64")
    )
    frame["pacing"] = _worst_pacing(facts.pacing)
    frame["below_grade"] = frame.index.isin(list(facts.below_grade))
    frame["access"] = frame["below_grade"] & frame.index.isin(list(facts.grade_level_work))
    return frame


def _worst_pacing(pacing: Sequence[tuple[int, str]]) -> pd.Series:
    """A student with several paths counts once, at their worst pacing status."""
    known = [(student, PACING_RANK[status]) for student, status in pacing if status in PACING_RANK]
    if not known:
        return pd.Series(dtype="object")
    ranks = pd.DataFrame(known, columns=["student_id", "rank"]).groupby("student_id")["rank"].max()
    return ranks.map(dict(enumerate(PACING_KEYS)))


def _summaries(frame: pd.DataFrame, by: list[str]) -> dict[Any, dict[str, Any]]:
    """The figures of each group of `frame` by the columns `by`, keyed by the group's values (a tuple);
    only groups with students appear. Five groupbys whatever the number of groups."""
    if frame.empty:
        return {}
    groups = frame.groupby(by, sort=False)
    sums = groups[list(SUMMED.values())].sum()
    sizes = groups.size()
    medians = groups["growth"].median()
    growth: dict[Any, dict[str, int]] = {}
    for (*key, value), count in frame.groupby([*by, "growth"]).size().sort_index().items():
        growth.setdefault(tuple(key), {})[str(int(value))] = int(count)
    pacing: dict[Any, dict[str, int]] = {}
    for (*key, status), count in frame.dropna(subset=["pacing"]).groupby([*by, "pacing"]).size().items():
        pacing.setdefault(tuple(key), {})[str(status)] = int(count)
    result: dict[Any, dict[str, Any]] = {}
    for index, n in sizes.items():
        key = index if isinstance(index, tuple) else (index,)
        row = sums.loc[index]
        result[key] = {
            "n_students": int(n),
            **{name: int(row[column]) for name, column in SUMMED.items()},
            "growth_distribution": growth[key],
            "growth_median": float(medians.loc[index]),
            "pacing_distribution": {status: pacing.get(key, {}).get(status, 0) for status in PACING_KEYS},
        }
    return result


def empty_figures() -> dict[str, Any]:
    return {
        "n_students": 0,
        **dict.fromkeys(SUMMED, 0),
        "growth_distribution": {},
        "growth_median": None,
        "pacing_distribution": dict.fromkeys(PACING_KEYS, 0),
    }


def _long(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per student and dimension: the dimension's name and the student's value in it."""
    figures = ["grade", "growth", "pacing", *SUMMED.values()]
    return frame.melt(id_vars=figures, value_vars=list(DIMENSION_VALUES), var_name="dimension", value_name="value")


def _table_cells(frame: pd.DataFrame, school_id: int) -> list[dict[str, Any]]:
    """Every grade with students, and all grades together: every value of every dimension (zeros too)."""
    long = _long(frame)
    by_grade = _summaries(long, ["grade", "dimension", "value"])
    all_grades = _summaries(long, ["dimension", "value"])
    cells: list[dict[str, Any]] = []
    grades: list[int | None] = [*sorted(int(g) for g in frame["grade"].unique()), None]
    for grade in grades:
        for dimension, values in DIMENSION_VALUES.items():
            for value in values:
                key = (dimension, value) if grade is None else (grade, dimension, value)
                figures = (all_grades if grade is None else by_grade).get(key, empty_figures())
                cells.append(
                    {
                        "school": school_id,
                        "grade": grade,
                        "section": None,
                        "dimension": dimension,
                        "value": value,
                        **figures,
                    }
                )
    return cells


def _section_cells(frame: pd.DataFrame, facts: SchoolFacts) -> list[dict[str, Any]]:
    """One cell per section (dimension all): its active students, whatever their own grade."""
    members = pd.DataFrame(list(facts.memberships), columns=["section_id", "student_id"])
    members = members[members["student_id"].isin(frame.index)].drop_duplicates()
    joined = members.join(frame, on="student_id")
    figures = _summaries(joined, ["section_id"])
    return [
        {
            "school": facts.school_id,
            "grade": grade,
            "section": section_id,
            "dimension": ALL,
            "value": ALL,
            **figures.get((section_id,), empty_figures()),
        }
        for section_id, grade in sorted(facts.sections.items())
    ]


def school_cells(facts: SchoolFacts) -> list[dict[str, Any]]:
    """The school's cells (unsuppressed): its table by grade and subgroup, and one cell per section."""
    frame = _students_frame(facts)
    return _table_cells(frame, facts.school_id) + _section_cells(frame, facts)
