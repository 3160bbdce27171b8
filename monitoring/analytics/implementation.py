"""Implementation health of one school for one night (and the district as the sum of its schools):
plain rows in, plain dicts out (field names of ImplementationSnapshot). Small enough for plain Python."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .suppression import median_from_distribution

COUNT_FIELDS = ("teachers", "teacher_evidence_week", "students", "students_with_evidence_week", "alerts_acknowledged")


@dataclass(frozen=True)
class ImplementationFacts:
    """One school's rows (ids only).

    students: the school's students.
    section_students / section_teachers: (section id, user id) active enrollments in the sections of the
        term covering the night.
    evidence_week: (student id, recorded_by id or None, evidence count) over the 7 days ending on the night.
    acknowledged: (student id, calendar days from the alert's opening to its acknowledgement) for alerts
        acknowledged in the 30 days ending on the night.
    """

    school_id: int
    students: Sequence[int]
    sections: Sequence[int] = ()
    section_students: Sequence[tuple[int, int]] = ()
    section_teachers: Sequence[tuple[int, int]] = ()
    evidence_week: Sequence[tuple[int, int | None, int]] = ()
    acknowledged: Sequence[tuple[int, int]] = ()


def _figures(students: set[int], teachers: set[int], facts: ImplementationFacts) -> dict[str, Any]:
    evidence_by_teachers = sum(
        count for student, recorder, count in facts.evidence_week if student in students and recorder in teachers
    )
    with_evidence = {student for student, _, count in facts.evidence_week if student in students and count > 0}
    days = Counter(days for student, days in facts.acknowledged if student in students)
    distribution = {str(d): days[d] for d in sorted(days)}
    return {
        "teachers": len(teachers),
        "teacher_evidence_week": evidence_by_teachers,
        "students": len(students),
        "students_with_evidence_week": len(with_evidence),
        "alerts_acknowledged": sum(days.values()),
        "acknowledge_days_distribution": distribution,
        "acknowledge_days_median": median_from_distribution(distribution),
    }


def implementation_rows(facts: ImplementationFacts) -> list[dict[str, Any]]:
    """The school's row (section None) and one row per section."""
    teachers_of: dict[int, set[int]] = {section: set() for section in facts.sections}
    students_of: dict[int, set[int]] = {section: set() for section in facts.sections}
    for section, teacher in facts.section_teachers:
        teachers_of.setdefault(section, set()).add(teacher)
    for section, student in facts.section_students:
        students_of.setdefault(section, set()).add(student)
    school_teachers = set().union(*teachers_of.values()) if teachers_of else set()
    rows = [{"school": facts.school_id, "section": None, **_figures(set(facts.students), school_teachers, facts)}]
    for section in sorted(set(teachers_of) | set(students_of)):
        figures = _figures(students_of.get(section, set()), teachers_of.get(section, set()), facts)
        rows.append({"school": facts.school_id, "section": section, **figures})
    return rows


def district_implementation_row(school_rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The district as a whole: the schools' rows summed (a teacher of two schools counts twice)."""
    total: dict[str, Any] = {"school": None, "section": None, **dict.fromkeys(COUNT_FIELDS, 0)}
    days: Counter[int] = Counter()
    for row in school_rows:
        if row["section"] is not None:
            continue
        for name in COUNT_FIELDS:
            total[name] += row[name]
        for key, count in row["acknowledge_days_distribution"].items():
            days[int(key)] += int(count)
    total["acknowledge_days_distribution"] = {str(d): days[d] for d in sorted(days)}
    total["acknowledge_days_median"] = median_from_distribution(total["acknowledge_days_distribution"])
    return total
