"""Small-group sessions: a teacher plans one (often from a suggestion) and, after it, records one 1-4 rating
per student, which becomes evidence; mastery, then the students' path states, follow at once.

Keyword-only and atomic. A refused request raises ValidationError naming the field (and the student) and
changes nothing. Which sections a teacher plans for is profiles/access.py's `workspace_sections`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mastery.models import Competency, Evidence
from pathways.models import Activity, SmallGroupMember, SmallGroupSession
from pathways.workspace_selectors import (
    SMALL_GROUP_SOURCE,
    session_external_id,
    small_group_sizes,
    student_name,
)
from profiles import access
from profiles.models import Enrollment, Section, User

from .paths import evidence_record_bulk_and_update

Status = SmallGroupSession.Status
NOTE_MAX_LENGTH = 2000

# Messages (tests compare them exactly).
NO_SUCH_SECTION = "No such section among the classes you teach."
NO_SUCH_SESSION = "No such session."
NO_SUCH_COMPETENCY = "No such competency."
NOT_ASSESSABLE = "{code} only groups other competencies, or is deprecated; choose one of its competencies."
NO_STUDENTS = "Choose at least one student."
TOO_MANY = "A small group has at most {most} students; {count} were chosen."
NO_SUCH_STUDENT = "No such student: {id}."
NOT_YOUR_STUDENT = "{name} is not a student of your sections."
NOT_IN_SECTION = "{name} is not in {section}."
LEFT_SECTION = "{name} has left {section}."
NO_DATE = "Choose the day of the session."
NO_SUCH_MATERIAL = "No such approved activity: {id}."
NOTE_TOO_LONG = f"At most {NOTE_MAX_LENGTH} characters."
BAD_ORIGIN = "Not a kind of small group."
CANCELLED = "This session was cancelled; it takes no ratings."
NOT_PLANNED = "Only a planned session can be cancelled."
NOT_YET = "This session is planned for {day}: record its ratings on or after that day."
NO_RATINGS = "Give at least one rating (leave a student blank to skip them)."
NOT_A_MEMBER = "{name} is not in this group."
RATING_RANGE = "The rating for {name} must be a whole number from 1 to 4, not “{value}”."


@dataclass(frozen=True)
class RatingsRecorded:
    session: SmallGroupSession
    stored: int  # ratings stored by this call
    already: int  # ratings recorded before (a resubmit stores nothing new)
    steps_changed: int  # path steps whose state changed


def _names(student_ids: Iterable[int]) -> dict[int, str]:
    return {user.pk: student_name(user) for user in User.objects.filter(pk__in=list(student_ids))}


def _student_problems(
    *, section: Section, student_ids: Iterable[int], by: User, names: Mapping[int, str]
) -> dict[int, str]:
    """Why any of these students cannot be in a group of the section (student id → message): unknown, not
    one of the teacher's students, not in the section, or left it. Empty when all may."""
    ids = list(dict.fromkeys(student_ids))
    yours = set(access.workspace_students(by).filter(pk__in=ids).values_list("pk", flat=True))
    enrolled = dict(
        Enrollment.objects.filter(section=section, user_id__in=ids, role=Enrollment.Role.STUDENT).values_list(
            "user_id", "active"
        )
    )
    problems: dict[int, str] = {}
    for student_id in ids:
        name = names.get(student_id)
        if name is None:
            problems[student_id] = NO_SUCH_STUDENT.format(id=student_id)
        elif student_id in enrolled and not enrolled[student_id]:
            problems[student_id] = LEFT_SECTION.format(name=name, section=section.name)
        elif student_id not in yours:
            problems[student_id] = NOT_YOUR_STUDENT.format(name=name)
        elif student_id not in enrolled:
            problems[student_id] = NOT_IN_SECTION.format(name=name, section=section.name)
    return problems


@transaction.atomic
def session_plan(
    *,
    section_id: int,
    competency_id: Any,
    student_ids: Iterable[Any],
    planned_for: datetime.date | None,
    by: User,
    material_ids: Iterable[Any] = (),
    note: str = "",
    origin: str = SmallGroupSession.Origin.TEACHER,
    why: str = "",
) -> SmallGroupSession:
    """Plan a small-group session for students of a section the teacher teaches."""
    section = access.workspace_sections(by).filter(pk=section_id).first()
    if section is None:
        raise ValidationError({"section": NO_SUCH_SECTION})
    errors: dict[str, list[str]] = {}
    competency = Competency.objects.filter(pk=competency_id).first() if str(competency_id or "").isdigit() else None
    if competency is None:
        errors["competency"] = [NO_SUCH_COMPETENCY]
    elif not competency.assessable or competency.deprecated:
        errors["competency"] = [NOT_ASSESSABLE.format(code=competency.code)]
    raw_ids = list(dict.fromkeys(student_ids))
    ids = [int(s) for s in raw_ids if str(s).isdigit()]
    bad = [s for s in raw_ids if not str(s).isdigit()]
    _, most = small_group_sizes()
    if not raw_ids:
        errors["students"] = [NO_STUDENTS]
    elif len(raw_ids) > most:
        errors["students"] = [TOO_MANY.format(most=most, count=len(raw_ids))]
    else:
        problems = [NO_SUCH_STUDENT.format(id=s) for s in bad]
        problems += _student_problems(section=section, student_ids=ids, by=by, names=_names(ids)).values()
        if problems:
            errors["students"] = problems
    if planned_for is None:
        errors["planned_for"] = [NO_DATE]
    raw_materials = list(dict.fromkeys(material_ids))
    material_pks = [int(m) for m in raw_materials if str(m).isdigit()]
    approved = set(
        Activity.objects.filter(pk__in=material_pks, review_status=Activity.Review.APPROVED).values_list(
            "pk", flat=True
        )
    )
    missing = [m for m in raw_materials if not str(m).isdigit() or int(m) not in approved]
    if missing:
        errors["materials"] = [NO_SUCH_MATERIAL.format(id=m) for m in missing]
    if len(note or "") > NOTE_MAX_LENGTH:
        errors["note"] = [NOTE_TOO_LONG]
    if origin not in SmallGroupSession.Origin.values:
        errors["origin"] = [BAD_ORIGIN]
    if errors:
        raise ValidationError(errors)
    assert competency is not None and planned_for is not None
    session = SmallGroupSession.objects.create(
        section=section,
        competency=competency,
        planned_for=planned_for,
        created_by=by,
        origin=origin,
        why=(why or "")[:NOTE_MAX_LENGTH],
        note=(note or "").strip(),
    )
    SmallGroupMember.objects.bulk_create([SmallGroupMember(session=session, student_id=i) for i in ids])
    if approved:
        session.materials.set(sorted(approved))
    return session


def _locked_session(session_id: int, by: User) -> SmallGroupSession:
    session = (
        SmallGroupSession.objects.select_for_update()
        .filter(pk=session_id, section__in=access.workspace_sections(by))
        .first()
    )
    if session is None:
        raise ValidationError({"session": NO_SUCH_SESSION})
    return session


@transaction.atomic
def session_cancel(*, session_id: int, by: User) -> SmallGroupSession:
    session = _locked_session(session_id, by)
    if session.status != Status.PLANNED:
        raise ValidationError({"session": NOT_PLANNED})
    session.status = Status.CANCELLED
    session.save(update_fields=["status"])
    return session


def _observed_at(day: datetime.date) -> datetime.datetime:
    """Noon of the session's day in school time, or now when that is still to come today."""
    noon = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
    return min(noon, timezone.now())


@transaction.atomic
def session_record_ratings(
    *, session_id: int, ratings: Mapping[Any, Any], by: User, on: datetime.date | None = None
) -> RatingsRecorded:
    """Record one 1-4 rating per rated student of the session as evidence (kind rating, source
    "small-group", external id "session-<id>-<student id>", recorded by the teacher, observed on the
    session's day), recompute mastery of those students on the session's competency and update their
    path states, all in one transaction; the session is then done. A student left out is not rated.
    Recording again stores nothing for a student already rated in this session (the first rating stays)."""
    session = _locked_session(session_id, by)
    today = on or timezone.localdate()
    if session.status == Status.CANCELLED:
        raise ValidationError({"session": CANCELLED})
    if session.planned_for > today:
        raise ValidationError({"session": NOT_YET.format(day=session.planned_for.strftime("%-d %B %Y"))})
    if not ratings:
        raise ValidationError({"ratings": NO_RATINGS})
    section = session.section
    ids = [int(s) for s in ratings if str(s).isdigit()]
    names = _names(ids)
    members = set(SmallGroupMember.objects.filter(session=session).values_list("student_id", flat=True))
    problems = [NO_SUCH_STUDENT.format(id=s) for s in ratings if not str(s).isdigit()]
    outside = _student_problems(section=section, student_ids=ids, by=by, names=names)
    problems += outside.values()
    for student_id in ids:
        if student_id not in outside and student_id not in members:
            problems.append(NOT_A_MEMBER.format(name=names[student_id]))
    values: dict[int, int] = {}
    for raw_id, value in ratings.items():
        if not str(raw_id).isdigit():
            continue
        student_id = int(raw_id)
        if student_id in outside:
            continue
        rating = value if isinstance(value, int) and not isinstance(value, bool) else None
        if rating is None and isinstance(value, str) and value.strip().isdigit():
            rating = int(value.strip())
        if rating is None or not 1 <= rating <= 4:
            problems.append(RATING_RANGE.format(name=names.get(student_id, student_id), value=value))
        else:
            values[student_id] = rating
    if problems:
        raise ValidationError({"ratings": problems})
    observed_at = _observed_at(session.planned_for)
    code = session.competency.code
    items = [
        {
            "student_id": student_id,
            "competency_id": session.competency_id,
            "observed_at": observed_at,
            "rating": rating,
            "kind": Evidence.Kind.RATING,
            "source": SMALL_GROUP_SOURCE,
            "external_id": session_external_id(session.pk, student_id),
            "note": f"Small-group session on {code} ({session.planned_for.isoformat()})",
            "raw": {"session_id": session.pk},
        }
        for student_id, rating in sorted(values.items())
    ]
    results, changed = evidence_record_bulk_and_update(
        items=items, recorded_by=by, students=access.evidence_recordable_students(by)
    )
    stored = sum(r.created for r in results)
    session.status = Status.DONE
    session.rated_at = timezone.now()
    session.save(update_fields=["status", "rated_at"])
    return RatingsRecorded(session, stored, len(results) - stored, changed)
