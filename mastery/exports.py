"""Mastery states and evidence as CSV for a section, a school or a district.

Rows stream from a server-side cursor (`QuerySet.iterator`), so a district's millions of evidence rows
never sit in memory at once; the caller chooses the students (already scoped by profiles/access.py).
Text typed by people (names, notes, external ids) goes through `spreadsheet_safe`.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import F, QuerySet, Value
from django.db.models.functions import Concat

from profiles.models import District, Enrollment, LearnerProfile, School, Section
from profiles.spreadsheet import spreadsheet_safe

from .models import Evidence, MasteryState

CHUNK = 2_000  # rows fetched per round trip of the server-side cursor

MASTERY_COLUMNS = [
    "student_id", "student", "framework", "competency", "status", "computed_status", "estimate",
    "evidence_count", "first_mastered_at", "last_evidence_at", "policy_version", "override_status",
    "override_note", "override_by_id", "override_at",
]  # fmt: skip
EVIDENCE_COLUMNS = [
    "evidence_id", "student_id", "student", "framework", "competency", "kind", "score", "rating", "observed_at",
    "source", "external_id", "recorded_by_id", "note", "voided_at", "created_at",
]  # fmt: skip


# What each row reads after the student's id and name.
_MASTERY_FIELDS = [
    "competency__framework__name", "competency__code", "status", "estimate", "evidence_count",
    "first_mastered_at", "last_evidence_at", "policy__version", "override_status", "override_note",
    "override_by_id", "override_at",
]  # fmt: skip
_EVIDENCE_FIELDS = [
    "competency__framework__name", "competency__code", "kind", "score", "rating", "observed_at", "source",
    "external_id", "recorded_by_id", "note", "voided_at", "created_at",
]  # fmt: skip


def section_student_ids(section: Section) -> QuerySet[Enrollment, int]:
    """The section's students now (active enrollments)."""
    return Enrollment.objects.filter(section=section, role=Enrollment.Role.STUDENT, active=True).values_list(
        "user_id", flat=True
    )


def school_student_ids(school: School) -> QuerySet[LearnerProfile, int]:
    return LearnerProfile.objects.filter(school=school).values_list("pk", flat=True)


def district_student_ids(district: District) -> QuerySet[LearnerProfile, int]:
    return LearnerProfile.objects.filter(school__district=district).values_list("pk", flat=True)


def _student_name() -> Concat:
    return Concat(F("student__first_name"), Value(" "), F("student__last_name"))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return str(value)


def mastery_rows(student_ids: QuerySet) -> Iterator[list[str]]:
    """One row per stored student × competency state, with the status a teacher sees (an override wins)."""
    states = (
        MasteryState.objects.filter(student_id__in=student_ids)
        .order_by(
            "student_id",
            "competency__framework_id",
            "competency__grade_level",
            "competency__sort_order",
            "competency_id",
        )
        .values_list("student_id", _student_name(), *_MASTERY_FIELDS)
    )
    for row in states.iterator(chunk_size=CHUNK):
        computed, override = row[4], row[10]
        yield [_cell(value) for value in (*row[:4], override or computed, *row[4:])]


def evidence_rows(student_ids: QuerySet) -> Iterator[list[str]]:
    """Every piece of evidence of the students, voided ones included (with the time they were voided)."""
    evidence = (
        Evidence.objects.filter(student_id__in=student_ids)
        .order_by("student_id", "competency_id", "observed_at", "id")
        .values_list("id", "student_id", _student_name(), *_EVIDENCE_FIELDS)
    )
    for row in evidence.iterator(chunk_size=CHUNK):
        yield [_cell(value) for value in row]


def csv_lines(columns: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """The CSV text a line at a time, after a byte-order mark so spreadsheet programs read UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


EXPORTS = {"mastery": (MASTERY_COLUMNS, mastery_rows), "evidence": (EVIDENCE_COLUMNS, evidence_rows)}


def export_csv_lines(what: str, student_ids: QuerySet) -> Iterator[str]:
    columns, rows = EXPORTS[what]
    return csv_lines(columns, rows(student_ids))
