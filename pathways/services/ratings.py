"""Fast evidence: a teacher gives several students a 1–4 rating on one competency at once.

The flow spans mastery (evidence, mastery states) and pathways (path step states), so it lives here, in the
higher app. Everything is checked before anything is written: a rating outside 1–4, a student the teacher may
not record evidence for, or (when a section is given) a student not actively enrolled in it refuses the whole
batch with one message per student, and nothing is stored. A valid batch is one transaction: the evidence
(kind rating, source "teacher-rating", recorded by the teacher), mastery recomputed for exactly those student ×
competency pairs, and the students' path step states brought in line. A fixed number of SQL statements
whatever the number of students (tests/pathways/test_ratings.py counts them).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mastery.models import Competency, MasteryState, MasteryStatus
from profiles import access
from profiles.models import Enrollment, User

from .paths import evidence_record_bulk_and_update

RATING_SOURCE = "teacher-rating"
RATING_MIN, RATING_MAX = 1, 4
NOTE_MAX_LENGTH = 2000
RATINGS_MAX = 500  # far above any section; keeps one request's work bounded

# Messages (tests compare them exactly).
NO_RATINGS = "Type a rating from 1 to 4 for at least one student."
TOO_MANY = "At most {limit} ratings at once."
NO_SUCH_COMPETENCY = "No such competency."
NOT_ASSESSABLE = "{code} only groups other competencies; rate one of its competencies."
DEPRECATED = "{code} has been retired; rate its replacement."
NOTE_TOO_LONG = "The note is at most {limit:,} characters."
NOT_A_RATING = "{name}: “{value}” is not a rating. Type a whole number from 1 to 4."
NOT_YOUR_STUDENT = "Student {id}: not one of the students you may record evidence for; nothing was recorded."
NOT_IN_SECTION = "{name} is not in this class; nothing was recorded."


class RatingsRefused(ValidationError):
    """The batch was refused; nothing was stored. `by_student` maps a student id to its messages; messages
    about the whole batch (no ratings, the competency, the note) are under None."""

    def __init__(self, by_student: dict[int | None, list[str]]) -> None:
        self.by_student = by_student
        super().__init__([message for messages in by_student.values() for message in messages])


@dataclass(frozen=True)
class RatingChange:
    student_id: int
    before: str  # effective status before the rating (an override wins)
    after: str

    @property
    def before_label(self) -> str:
        return MasteryStatus(self.before).label

    @property
    def after_label(self) -> str:
        return MasteryStatus(self.after).label


@dataclass(frozen=True)
class RatingsRecorded:
    competency: Competency
    recorded: int  # evidence rows stored by this call (0 when the same batch was sent again)
    student_ids: list[int]
    changes: list[RatingChange] = field(default_factory=list)  # students whose effective status changed


def _as_rating(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and RATING_MIN <= value <= RATING_MAX:
        return value
    return None


def _effective_statuses(student_ids: list[int], competency_id: int) -> dict[int, str]:
    rows = MasteryState.objects.filter(student_id__in=student_ids, competency_id=competency_id).values_list(
        "student_id", "status", "override_status"
    )
    return {student: override or status for student, status, override in rows}


def _name(user: User) -> str:
    return str(user)


def _validate(
    *, competency_id: int, ratings: Mapping[int, Any], note: str, by: User, section_id: int | None
) -> tuple[Competency, dict[int, int]]:
    errors: dict[int | None, list[str]] = {}
    competency = Competency.objects.filter(pk=competency_id).first()
    if competency is None:
        errors.setdefault(None, []).append(NO_SUCH_COMPETENCY)
    elif not competency.assessable:
        errors.setdefault(None, []).append(NOT_ASSESSABLE.format(code=competency.code))
    elif competency.deprecated:
        errors.setdefault(None, []).append(DEPRECATED.format(code=competency.code))
    if not ratings:
        errors.setdefault(None, []).append(NO_RATINGS)
    elif len(ratings) > RATINGS_MAX:
        errors.setdefault(None, []).append(TOO_MANY.format(limit=RATINGS_MAX))
    if not isinstance(note, str) or len(note) > NOTE_MAX_LENGTH or "\x00" in note:
        errors.setdefault(None, []).append(NOTE_TOO_LONG.format(limit=NOTE_MAX_LENGTH))
    if errors.get(None) and (competency is None or not ratings or len(ratings) > RATINGS_MAX):
        raise RatingsRefused(errors)

    ids = [int(student_id) for student_id in ratings]
    # One query: the students the teacher may record for, with whether each is active in the section.
    allowed = access.evidence_recordable_students(by).filter(pk__in=ids).select_related("user")
    profiles = {profile.pk: profile for profile in allowed}
    enrolled: set[int] = set()
    if section_id is not None:
        enrolled = set(
            Enrollment.objects.filter(
                section_id=section_id, role=Enrollment.Role.STUDENT, active=True, user_id__in=ids
            ).values_list("user_id", flat=True)
        )
    clean: dict[int, int] = {}
    for student_id, value in ratings.items():
        student_id = int(student_id)
        profile = profiles.get(student_id)
        if profile is None:
            errors.setdefault(student_id, []).append(NOT_YOUR_STUDENT.format(id=student_id))
            continue
        name = _name(profile.user)
        if section_id is not None and student_id not in enrolled:
            errors.setdefault(student_id, []).append(NOT_IN_SECTION.format(name=name))
        rating = _as_rating(value)
        if rating is None:
            errors.setdefault(student_id, []).append(NOT_A_RATING.format(name=name, value=value))
        else:
            clean[student_id] = rating
    if errors:
        raise RatingsRefused(errors)
    assert competency is not None
    return competency, clean


def ratings_record(
    *,
    competency_id: int,
    ratings: Mapping[int, Any],
    note: str = "",
    by: User,
    observed_at: datetime.datetime | None = None,
    section_id: int | None = None,
    batch_key: str | None = None,
) -> RatingsRecorded:
    """Record one 1–4 rating per student on one competency, then update mastery and paths at once.

    ratings: student id → rating (1–4; a digit string is accepted). section_id: when the ratings are given
    from a section's grid, every student must be actively enrolled in it. batch_key: an id of this batch
    (the form's), so that sending the same form twice stores nothing new (the evidence's external id is
    "<batch_key>:<student id>"). Raises RatingsRefused, storing nothing, when anything is wrong.
    """
    competency, clean = _validate(competency_id=competency_id, ratings=ratings, note=note, by=by, section_id=section_id)
    when = observed_at or timezone.now()
    student_ids = sorted(clean)
    items = [
        {
            "student_id": student_id,
            "competency_id": competency.pk,
            "rating": clean[student_id],
            "observed_at": when,
            "source": RATING_SOURCE,
            "external_id": f"{batch_key}:{student_id}" if batch_key else None,
            "note": note,
        }
        for student_id in student_ids
    ]
    with transaction.atomic():
        before = _effective_statuses(student_ids, competency.pk)
        results, _ = evidence_record_bulk_and_update(items=items, recorded_by=by)
        recorded = sum(1 for result in results if result.created)
        after = _effective_statuses(student_ids, competency.pk)
    not_started = MasteryStatus.NOT_STARTED
    changes = [
        RatingChange(student_id, before.get(student_id, not_started), after.get(student_id, not_started))
        for student_id in student_ids
        if before.get(student_id, not_started) != after.get(student_id, not_started)
    ]
    return RatingsRecorded(competency, recorded, student_ids, changes)
