"""Reads of the profiles app, with their joins preloaded. Callers pass an access-scoped queryset."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from .models import (
    District,
    Enrollment,
    Goal,
    Holiday,
    LearnerProfile,
    LearnerProfileChange,
    School,
    Section,
    Term,
    User,
)


def section_rosters(sections: QuerySet[Section]) -> QuerySet[Section]:
    """Sections with their active students (and each one's learner profile) and teachers preloaded."""
    students = (
        Enrollment.objects.filter(role=Enrollment.Role.STUDENT, active=True)
        .select_related("user__learner_profile")
        .order_by("user__last_name", "user__first_name")
    )
    teachers = Enrollment.objects.filter(role=Enrollment.Role.TEACHER, active=True).select_related("user")
    return sections.select_related("school", "term").prefetch_related(
        Prefetch("enrollments", queryset=students, to_attr="student_enrollments"),
        Prefetch("enrollments", queryset=teachers, to_attr="teacher_enrollments"),
    )


def sections_with_counts(sections: QuerySet[Section]) -> QuerySet[Section]:
    active_students = Q(enrollments__role=Enrollment.Role.STUDENT, enrollments__active=True)
    return sections.select_related("term").annotate(student_count=Count("enrollments", filter=active_students))


def schools_with_counts(schools: QuerySet[School]) -> QuerySet[School]:
    return schools.annotate(
        student_count=Count("learners", distinct=True), section_count=Count("sections", distinct=True)
    )


PROFILE_HISTORY_SHOWN = 20


@dataclass(frozen=True)
class ProfileChangeView:
    change: LearnerProfileChange
    added: list[str]  # lines added (list fields)
    removed: list[str]  # lines removed (list fields)


def _change_view(change: LearnerProfileChange) -> ProfileChangeView:
    if isinstance(change.old, list) and isinstance(change.new, list):
        old, new = [str(line) for line in change.old], [str(line) for line in change.new]
        return ProfileChangeView(change, [x for x in new if x not in old], [x for x in old if x not in new])
    return ProfileChangeView(change, [], [])


def learner_profile_history(profile: LearnerProfile, *, limit: int = PROFILE_HISTORY_SHOWN) -> list[ProfileChangeView]:
    """The latest changes of the profile's fields, newest first, with who made them. One query."""
    changes = profile.changes.select_related("changed_by").order_by("-changed_at", "-id")[:limit]
    return [_change_view(change) for change in changes]


def learner_profile_detail(profile: LearnerProfile) -> dict:
    """What the learner-profile page shows about one student: profile, goals, sections, the profile's history."""
    student: User = profile.user
    return {
        "profile": profile,
        "student": student,
        "history": learner_profile_history(profile),
        "history_shown": PROFILE_HISTORY_SHOWN,  # the page says "the latest N" when the list is that long
        "goals": list(student.goals.select_related("set_with").order_by("status", "target_date")),
        "sections": list(
            Section.objects.filter(
                enrollments__user=student, enrollments__role=Enrollment.Role.STUDENT, enrollments__active=True
            ).select_related("term")
        ),
    }


def _section_member_prefetches(visible_students: QuerySet[User]) -> list[Prefetch]:
    """Active teachers (with their user) and the active students among `visible_students`."""
    teachers = (
        Enrollment.objects.filter(role=Enrollment.Role.TEACHER, active=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user_id")
    )
    students = Enrollment.objects.filter(
        role=Enrollment.Role.STUDENT, active=True, user__in=visible_students.values("pk")
    ).order_by("user_id")
    return [
        Prefetch("enrollments", queryset=teachers, to_attr="teacher_enrollments"),
        Prefetch("enrollments", queryset=students, to_attr="visible_student_enrollments"),
    ]


def sections_with_members(sections: QuerySet[Section], *, visible_students: QuerySet[User]) -> QuerySet[Section]:
    """Sections with term, teachers and the visible active students preloaded (three queries in all).

    Students are limited to `visible_students` (an access-scoped queryset) so a roster never names
    a classmate the reader may not see.
    """
    return sections.select_related("term").prefetch_related(*_section_member_prefetches(visible_students))


def section_with_members(section: Section, *, visible_students: QuerySet[User]) -> Section:
    """The same preloading as `sections_with_members`, for one section already fetched."""
    from django.db.models import prefetch_related_objects  # appended helper; keeps the module header as is

    prefetch_related_objects([section], *_section_member_prefetches(visible_students))
    return section


# --- HTML pages: rosters, school and district overviews (appended with profiles/views.py) ------------


@dataclass(frozen=True)
class RosterRow:
    """One student on a roster, with what the teacher scans for: profile and active goals."""

    student: User
    profile: LearnerProfile | None
    active_goal_count: int


@dataclass(frozen=True)
class SectionRoster:
    section: Section
    teachers: list[User]
    rows: list[RosterRow]  # only the students the reader may see
    student_count: int  # every active student, seen or not (a number, no names)


@dataclass(frozen=True)
class GradeOverview:
    grade: int
    student_count: int
    sections: list[Section]  # each with `student_count` and `teacher_enrollments`


def sections_taught_by(user: User, sections: QuerySet[Section]) -> QuerySet[Section]:
    """Of an access-scoped queryset, the sections the user actively teaches."""
    taught = Enrollment.objects.filter(user=user, role=Enrollment.Role.TEACHER, active=True).values("section_id")
    return sections.filter(pk__in=taught)


def _active_goal_counts(student_ids: set[int]) -> dict[int, int]:
    rows = (
        Goal.objects.filter(student_id__in=student_ids, status=Goal.Status.ACTIVE)
        .order_by()
        .values_list("student_id")
        .annotate(count=Count("pk"))
    )
    return dict(rows.values_list("student_id", "count"))


def _roster_row(enrollment: Enrollment, goal_counts: dict[int, int]) -> RosterRow:
    student = enrollment.user
    profile = getattr(student, "learner_profile", None)
    return RosterRow(student=student, profile=profile, active_goal_count=goal_counts.get(student.pk, 0))


def rosters(sections: QuerySet[Section], *, visible_students: QuerySet[User]) -> list[SectionRoster]:
    """Sections with teachers and rosters (`section_rosters`), limited to `visible_students`.

    Five queries however many sections and students: sections, students, teachers, which of the
    students the reader sees, and their active-goal counts.
    """
    rostered = list(section_rosters(sections))
    everyone = {e.user_id for section in rostered for e in getattr(section, "student_enrollments")}  # noqa: B009
    seen = set(visible_students.filter(pk__in=everyone).values_list("pk", flat=True)) if everyone else set()
    goal_counts = _active_goal_counts(seen) if seen else {}
    result = []
    for section in rostered:
        students = getattr(section, "student_enrollments")  # noqa: B009
        result.append(
            SectionRoster(
                section=section,
                teachers=[e.user for e in getattr(section, "teacher_enrollments")],  # noqa: B009
                rows=[_roster_row(e, goal_counts) for e in students if e.user_id in seen],
                student_count=len(students),
            )
        )
    return result


def section_roster(section: Section, *, visible_students: QuerySet[User]) -> SectionRoster:
    """The roster page of one section already fetched through access."""
    return rosters(Section.objects.filter(pk=section.pk), visible_students=visible_students)[0]


def school_overview(school: School) -> list[GradeOverview]:
    """Each grade of a school with its number of students and its sections (student counts, teachers)."""
    student_counts = dict(
        LearnerProfile.objects.filter(school=school)
        .order_by()
        .values_list("grade_level")
        .annotate(count=Count("pk"))
        .values_list("grade_level", "count")
    )
    teachers = Enrollment.objects.filter(role=Enrollment.Role.TEACHER, active=True).select_related("user")
    sections = sections_with_counts(Section.objects.filter(school=school)).prefetch_related(
        Prefetch("enrollments", queryset=teachers, to_attr="teacher_enrollments")
    )
    by_grade: dict[int, list[Section]] = {}
    for section in sections.order_by("grade_level", "name"):
        by_grade.setdefault(section.grade_level, []).append(section)
    grades = sorted(set(student_counts) | set(by_grade))
    return [GradeOverview(grade, student_counts.get(grade, 0), by_grade.get(grade, [])) for grade in grades]


def district_schools(districts: QuerySet[District], schools: QuerySet[School]) -> QuerySet[School]:
    """Of an access-scoped queryset of schools, those in `districts`, with student and section counts."""
    return (
        schools_with_counts(schools.filter(district__in=districts))
        .select_related("district")
        .order_by("district__name", "name")
    )


def children_of(guardian: User, profiles: QuerySet[LearnerProfile]) -> QuerySet[LearnerProfile]:
    """Of an access-scoped queryset of learner profiles, the guardian's own children."""
    return profiles.filter(user__guardian_links__guardian=guardian).select_related("user", "school")


# --- the school calendar: school days are the term's weekdays minus its holidays ---------------------


@dataclass(frozen=True)
class TermCalendar:
    """What school-day arithmetic needs about one term: its dates and its holidays (a part of a
    school year also keeps its year's holidays)."""

    term_id: int
    school_id: int
    start_date: datetime.date
    end_date: datetime.date
    holidays: frozenset[datetime.date]


def term_calendars(*, term_ids: Iterable[int]) -> dict[int, TermCalendar]:
    """The calendar of each term, by id. Two queries."""
    terms = list(Term.objects.filter(pk__in=list(term_ids)).order_by())
    wanted = {term.pk for term in terms} | {term.parent_id for term in terms if term.parent_id}
    holidays: dict[int, set[datetime.date]] = {}
    for term_id, day in Holiday.objects.filter(term_id__in=wanted).order_by().values_list("term_id", "date"):
        holidays.setdefault(term_id, set()).add(day)
    return {
        term.pk: TermCalendar(
            term.pk,
            term.school_id,
            term.start_date,
            term.end_date,
            frozenset(holidays.get(term.pk, set()) | holidays.get(term.parent_id or 0, set())),
        )
        for term in terms
    }


def school_year_terms_on(*, school_ids: Iterable[int], on: datetime.date) -> dict[int, int]:
    """school id -> the term covering the date, preferring a whole school year, then the longest. One query."""
    terms = Term.objects.filter(school_id__in=list(school_ids), start_date__lte=on, end_date__gte=on).order_by()
    chosen: dict[int, tuple[bool, datetime.timedelta, int]] = {}
    for term_id, school_id, kind, start, end in terms.values_list("pk", "school_id", "kind", "start_date", "end_date"):
        rank = (kind == Term.Kind.SCHOOL_YEAR, end - start, -term_id)
        if school_id not in chosen or rank > chosen[school_id]:
            chosen[school_id] = rank
    return {school_id: -rank[2] for school_id, rank in chosen.items()}
