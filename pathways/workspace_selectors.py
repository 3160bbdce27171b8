"""Reads of the teacher's workspace: Today (their students' open alerts, ranked by what most needs an adult)
and suggested small groups per section, with the sessions planned from them.

Callers pass the user or the sections they may act on (profiles/access.py decides: `workspace_students`,
`workspace_sections`); nothing here decides access beyond starting from those querysets. Every read runs a
fixed number of queries whatever the number of students or sections.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from mastery.models import Competency, Evidence
from pathways import rules
from pathways.models import AlertCondition, LearningPath, PacingAlert, PathStep, SmallGroupMember, SmallGroupSession
from profiles import access
from profiles.models import Enrollment, Section, User
from profiles.selectors import term_calendars

Origin = SmallGroupSession.Origin

SMALL_GROUP_SOURCE = "small-group"


def small_group_sizes() -> tuple[int, int]:
    """(fewest, most) students in a suggested small group: settings PLPLATFORM SMALL_GROUP_MIN and
    SMALL_GROUP_MAX, 3 and 6 by default."""
    config: dict[str, Any] = getattr(settings, "PLPLATFORM", {})
    return int(config.get("SMALL_GROUP_MIN", 3)), int(config.get("SMALL_GROUP_MAX", 6))


def session_external_id(session_id: int, student_id: int) -> str:
    """The evidence external id of one student's rating in one session (a resubmit stores nothing new)."""
    return f"session-{session_id}-{student_id}"


def student_name(user: User) -> str:
    return str(user)  # User.__str__: the full name, else the username


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


# --- Today ----------------------------------------------------------------------------------------------


KIND_LABELS = dict(PacingAlert.Kind.choices)
SEVERITY_LABELS = dict(PacingAlert.Severity.choices)
STATUS_LABELS = dict(PacingAlert.Status.choices)


@dataclass
class TodayAlert:
    alert: PacingAlert
    student: User
    sections: list[str]  # names of the teacher's sections the student is in
    school_days_open: int
    shared: int  # students on this Today page with an open alert of the same kind and competency
    rank: int  # 1 = needs an adult most
    urls: dict[str, str] = field(default_factory=dict)  # the page's links and actions, set by the view

    @property
    def student_name(self) -> str:
        return student_name(self.student)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.alert.kind, self.alert.kind))

    @property
    def severity_label(self) -> str:
        return str(SEVERITY_LABELS.get(self.alert.severity, self.alert.severity))

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.alert.status, self.alert.status))

    @property
    def open_words(self) -> str:
        """ "open 9 school days (since 2 November)", "opened today" or "opened 30 November"."""
        day = f"{self.alert.opened_on.day} {self.alert.opened_on:%B}"
        if self.school_days_open > 0:
            return f"open {_plural(self.school_days_open, 'school day')} (since {day})"
        return "opened today" if self.alert.opened_on == timezone.localdate() else f"opened {day}"

    @property
    def shared_words(self) -> str:
        if self.shared <= 1:
            return ""
        about = f" on {self.alert.competency.code}" if self.alert.competency else ""
        return f"{self.shared} of your students share this {self.alert.get_kind_display().lower()} alert{about}"


def _calendar_of(calendars: dict[int, Any], term_id: int | None) -> rules.SchoolCalendar:
    term = calendars.get(term_id or 0)
    if term is None:  # no path or term: weekdays
        return rules.SchoolCalendar(datetime.date.min, datetime.date.max)
    return rules.SchoolCalendar.of(term.start_date, term.end_date, term.holidays)


def _workspace_students(user: User) -> dict[int, list[str]]:
    """The user's Today students (access.workspace_students) with the names of the user's sections each one
    is in. One query."""
    section_names: dict[int, list[str]] = {}
    for student_id, name in (
        Enrollment.objects.filter(
            section__in=access.workspace_sections(user),
            role=Enrollment.Role.STUDENT,
            active=True,
            user__in=access.workspace_students(user).values("pk"),
        )
        .order_by("section__name")
        .values_list("user_id", "section__name")
    ):
        section_names.setdefault(student_id, []).append(name)
    return section_names


@dataclass(frozen=True)
class Today:
    alerts: list[TodayAlert]  # the first `limit` of the ranking (all of it without a limit)
    total: int  # unresolved alerts ranked


def today_alerts(
    user: User,
    *,
    on: datetime.date | None = None,
    students: Mapping[int, Sequence[str]] | None = None,
    limit: int | None = None,
) -> Today:
    """Unresolved (open or acknowledged) alerts of the students in the sections the user actively teaches,
    ranked: higher severity first, then open longer (school days of the alert's term), then shared by more
    of these students (same kind and competency), then by student name; the first `limit` of them loaded
    for the page. Six queries whatever the number of students: the roles, the students with their sections,
    the alerts' ranking facts (plain rows, every alert), the terms and their holidays, then the alerts
    shown (with students and competencies). `students`: the teacher's students (access.workspace_students)
    with the names of the teacher's sections each is in, when the caller has them already (Today has its
    rosters): one query fewer."""
    day = on or timezone.localdate()
    if students is not None:
        section_names = {student_id: sorted(names) for student_id, names in students.items()}
    else:
        section_names = _workspace_students(user)
    facts = list(
        PacingAlert.objects.filter(student_id__in=list(section_names) or [0])
        .exclude(status=PacingAlert.Status.RESOLVED)
        .order_by()
        .values_list(
            *("pk", "student_id", "kind", "competency_id", "severity", "opened_on", "path__term_id"),
            *("student__last_name", "student__first_name", "student__username"),
        )
    )
    calendars = term_calendars(term_ids={row[6] for row in facts if row[6] is not None} or {0})
    sharing: dict[tuple[str, int | None], set[int]] = {}
    for _, student_id, kind, competency_id, *_rest in facts:
        sharing.setdefault((kind, competency_id), set()).add(student_id)
    ranked = []
    for pk, student_id, kind, competency_id, severity, opened_on, term_id, last, first, username in facts:
        days = max(_calendar_of(calendars, term_id).days_between(opened_on, day), 0)
        name = f"{first} {last}".strip() or username
        ranked.append((-severity, -days, -len(sharing[(kind, competency_id)]), name, pk, student_id, days))
    ranked.sort()
    shown = ranked if limit is None else ranked[:limit]
    loaded = PacingAlert.objects.select_related("student", "competency", "acknowledged_by").only(
        *("pk", "student_id", "path_id", "competency_id", "kind", "severity", "status", "reason", "opened_on"),
        *("acknowledged_at", "acknowledged_by_id", "resolution_note"),
        *("student__first_name", "student__last_name", "student__username"),
        *("competency__code", "acknowledged_by__first_name", "acknowledged_by__last_name"),
        "acknowledged_by__username",
    )
    alerts = loaded.in_bulk([row[4] for row in shown] or [0])
    items = [
        TodayAlert(alerts[pk], alerts[pk].student, section_names.get(student_id, []), days, -shared, rank)
        for rank, (_, _, shared, _, pk, student_id, days) in enumerate(shown, start=1)
        if pk in alerts  # resolved between the two reads: left out
    ]
    return Today(items, len(ranked))


def teacher_today(
    user: User, *, on: datetime.date | None = None, students: Mapping[int, Sequence[str]] | None = None
) -> list[TodayAlert]:
    """Every unresolved alert of the user's Today, ranked (today_alerts without a limit)."""
    return today_alerts(user, on=on, students=students).alerts


# --- suggested small groups ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    section: Section
    origin: str  # stuck, ready, held_back
    competency: Competency
    students: list[User]  # by name
    why: str
    part: int = 1  # this group's number when a larger set was split
    parts: int = 1

    @property
    def helped(self) -> int:
        return len(self.students)

    @property
    def origin_label(self) -> str:
        return Origin(self.origin).label

    @property
    def plan_query(self) -> str:
        """The query string that prefills the plan form with this suggestion."""
        pairs = [("origin", self.origin), ("competency", str(self.competency.pk))]
        pairs += [("students", str(s.pk)) for s in self.students]
        return urlencode(pairs)


ORIGIN_ORDER = {Origin.STUCK: 0, Origin.HELD_BACK: 1, Origin.READY: 2}


def split_evenly[T](items: Sequence[T], *, most: int) -> list[list[T]]:
    """Items in consecutive groups of at most `most`, as even as possible (7 → 4 + 3; 13 → 5 + 4 + 4)."""
    count = math.ceil(len(items) / most) if items else 0
    groups, start = [], 0
    for index in range(count):
        size = len(items) // count + (1 if index < len(items) % count else 0)
        groups.append(list(items[start : start + size]))
        start += size
    return groups


def _why(origin: str, code: str, count: int, days: list[int]) -> str:
    if origin == Origin.STUCK:
        if days:
            low, high = min(days), max(days)
            span = f"{low} school days" if low == high else f"{low} to {high} school days"
            return f"{count} students are stuck on {code}: each has worked on it for {span} without mastering it."
        return f"{count} students are stuck on {code}: each has worked on it for a long time without mastering it."
    if origin == Origin.HELD_BACK:
        return (
            f"{count} students are held back from grade-level work, and {code} is the first grade-level "
            f"competency each still has to reach: one session on it gives them grade-level work together."
        )
    return (
        f"{count} students are ready for {code} next: every prerequisite is mastered and it is the first "
        "ready step on each one's path."
    )


@dataclass
class _Collected:
    """Per section, origin and competency: the students, and for stuck ones their school days on it."""

    students: dict[tuple[int, str, int], set[int]] = field(default_factory=dict)
    days: dict[tuple[int, str, int], dict[int, int]] = field(default_factory=dict)

    def add(self, section_id: int, origin: str, competency_id: int, student_id: int, days: int | None = None) -> None:
        key = (section_id, origin, competency_id)
        self.students.setdefault(key, set()).add(student_id)
        if days is not None:
            known = self.days.setdefault(key, {})
            known[student_id] = max(days, known.get(student_id, 0))


def _current_paths(student_ids: set[int]) -> dict[int, int]:
    """student id -> the path their pages show first (latest term, then framework name). One query."""
    current: dict[int, int] = {}
    for path_id, student_id in (
        LearningPath.objects.filter(student_id__in=student_ids)
        .order_by("student_id", "-term__start_date", "framework__name", "pk")
        .values_list("pk", "student_id")
    ):
        current.setdefault(student_id, path_id)
    return current


def _first_steps(path_ids: Iterable[int], **conditions: Any) -> dict[int, int]:
    """path id -> the competency of its first step (path order) meeting the conditions. One query."""
    rows = (
        PathStep.objects.filter(path_id__in=list(path_ids) or [0], **conditions)
        .order_by("path_id", "order")
        .distinct("path_id")
        .values_list("path_id", "competency_id")
    )
    return dict(rows)


def sections_small_group_suggestions(
    sections: Iterable[Section], *, members: Mapping[int, Sequence[User]] | None = None
) -> dict[int, list[Suggestion]]:
    """Suggested small groups of each section (section id -> suggestions, most students helped first).

    Among the section's active students:
    - stuck: an unresolved stuck alert, or a stuck condition the nightly run saw holding, on the same
      competency;
    - ready: the same competency as the first ready step of their path (the path their pages show first);
    - held_back: an unresolved held_back alert (or a holding condition) and the same first grade-level
      target step still to reach (not mastered or skipped) on that path.
    A set of fewer than SMALL_GROUP_MIN students is no group; a larger set than SMALL_GROUP_MAX is split
    into even groups. Students already in a planned session of the section on that competency are left
    out. Ranked by students helped, then stuck before held back before ready, then the competency's
    place in its framework. Seven queries whatever the number of sections or students; six when the caller
    passes `members` (section id -> its active students, e.g. from the rosters it shows)."""
    sections = list(sections)
    by_id = {s.pk: s for s in sections}
    fewest, most = small_group_sizes()
    enrolled: dict[int, set[int]] = {}
    users: dict[int, User] = {}
    if members is None:
        for enrollment in (
            Enrollment.objects.filter(section_id__in=list(by_id) or [0], role=Enrollment.Role.STUDENT, active=True)
            .select_related("user")
            .only("section_id", "user_id", "user__first_name", "user__last_name", "user__username")
        ):
            enrolled.setdefault(enrollment.section_id, set()).add(enrollment.user_id)
            users[enrollment.user_id] = enrollment.user
    else:
        for section_id, section_members in members.items():
            if section_id in by_id:
                enrolled[section_id] = {member.pk for member in section_members}
                users.update((member.pk, member) for member in section_members)
    sections_of: dict[int, set[int]] = {}
    for section_id, enrolled_ids in enrolled.items():
        for student_id in enrolled_ids:
            sections_of.setdefault(student_id, set()).add(section_id)
    student_ids = set(users) or {0}

    kinds = [PacingAlert.Kind.STUCK, PacingAlert.Kind.HELD_BACK]
    columns = ("student_id", "kind", "competency_id", "path_id", "numbers")
    open_alerts = (
        PacingAlert.objects.filter(student_id__in=student_ids, kind__in=kinds)
        .exclude(status=PacingAlert.Status.RESOLVED)
        .order_by()
        .values_list(*columns)
    )
    holding = AlertCondition.objects.filter(student_id__in=student_ids, kind__in=kinds, holding=True)
    flagged: list[tuple[int, str, int | None, int | None, dict]] = list(
        open_alerts.union(holding.order_by().values_list(*columns), all=True).order_by()
    )
    current = _current_paths(student_ids)
    held_back_paths = {
        student_id: path_id or current.get(student_id)
        for student_id, kind, _, path_id, _ in flagged
        if kind == PacingAlert.Kind.HELD_BACK
    }
    first_ready = _first_steps(current.values(), state=PathStep.State.READY)
    first_grade_level = _first_steps(
        {p for p in held_back_paths.values() if p is not None},
        reason=PathStep.Reason.GRADE_LEVEL_TARGET,
        state__in=[PathStep.State.READY, PathStep.State.IN_PROGRESS, PathStep.State.LOCKED],
    )

    collected = _Collected()
    for student_id, kind, competency_id, _, numbers in flagged:
        if kind == PacingAlert.Kind.STUCK and competency_id is not None:
            days = numbers.get("school_days_in_progress") if isinstance(numbers, dict) else None
            for section_id in sections_of.get(student_id, ()):
                collected.add(section_id, Origin.STUCK, competency_id, student_id, days)
    for student_id, path_id in held_back_paths.items():
        competency_id = first_grade_level.get(path_id or 0)
        if competency_id is not None:
            for section_id in sections_of.get(student_id, ()):
                collected.add(section_id, Origin.HELD_BACK, competency_id, student_id)
    for student_id, path_id in current.items():
        competency_id = first_ready.get(path_id)
        if competency_id is not None:
            for section_id in sections_of.get(student_id, ()):
                collected.add(section_id, Origin.READY, competency_id, student_id)

    planned = set(
        SmallGroupMember.objects.filter(
            session__section_id__in=list(by_id) or [0], session__status=SmallGroupSession.Status.PLANNED
        ).values_list("session__section_id", "session__competency_id", "student_id")
    )
    competencies = Competency.objects.in_bulk({key[2] for key in collected.students} or {0})
    result: dict[int, list[Suggestion]] = {s.pk: [] for s in sections}
    for (section_id, origin, competency_id), found_ids in collected.students.items():
        waiting = [users[s] for s in found_ids if (section_id, competency_id, s) not in planned]
        if len(waiting) < fewest:
            continue
        waiting.sort(key=lambda u: (u.last_name, u.first_name, u.pk))
        competency = competencies[competency_id]
        groups = split_evenly(waiting, most=most)
        for part, group in enumerate(groups, start=1):
            days = [
                d
                for s, d in collected.days.get((section_id, origin, competency_id), {}).items()
                if s in {u.pk for u in group}
            ]
            why = _why(origin, competency.code, len(group), days)
            if len(groups) > 1:
                why += (
                    f" Group {part} of {len(groups)}: the {len(waiting)} students are split into groups of at "
                    f"most {most}."
                )
            suggestion = Suggestion(by_id[section_id], origin, competency, group, why, part, len(groups))
            result[section_id].append(suggestion)
    for suggestions in result.values():
        suggestions.sort(
            key=lambda s: (
                -s.helped,
                ORIGIN_ORDER[Origin(s.origin)],
                s.competency.grade_level,
                s.competency.sort_order,
                s.competency.code,
                s.part,
            )
        )
    return result


def small_group_suggestions(section: Section) -> list[Suggestion]:
    """The suggested small groups of one section (see sections_small_group_suggestions)."""
    return sections_small_group_suggestions([section])[section.pk]


# --- sessions ---------------------------------------------------------------------------------------------


def workspace_sessions(sections: Iterable[Section], *, done_since: datetime.date) -> list[SmallGroupSession]:
    """Planned sessions of these sections (soonest first), then those done since `done_since` (latest
    first), with section, competency and members preloaded. Two queries."""
    sessions = list(
        SmallGroupSession.objects.filter(section__in=[s.pk for s in sections] or [0])
        .filter(status__in=[SmallGroupSession.Status.PLANNED, SmallGroupSession.Status.DONE])
        .select_related("section", "competency")
        .prefetch_related(
            Prefetch(
                "members",
                queryset=SmallGroupMember.objects.select_related("student").order_by(
                    "student__last_name", "student__first_name", "student_id"
                ),
            ),
        )
        .order_by("planned_for", "pk")
    )
    planned = [s for s in sessions if s.status == SmallGroupSession.Status.PLANNED]
    done = [s for s in sessions if s.status == SmallGroupSession.Status.DONE and s.planned_for >= done_since]
    done.sort(key=lambda s: (s.planned_for, s.pk), reverse=True)
    return planned + done


@dataclass(frozen=True)
class MemberRow:
    student: User
    active: bool  # still actively enrolled in the session's section
    rating: int | None  # recorded for this session, if any
    step_state: str  # the state of the session's competency on the student's current path ("" if none)
    step_state_label: str


def session_members(session: SmallGroupSession) -> list[MemberRow]:
    """The members of a session by name, whether each is still in the section, the rating recorded for
    each (from Evidence) and the state of the session's competency on each one's path. Five queries."""
    members = list(
        SmallGroupMember.objects.filter(session=session)
        .select_related("student")
        .order_by("student__last_name", "student__first_name", "student_id")
    )
    ids = [m.student_id for m in members] or [0]
    active = set(
        Enrollment.objects.filter(
            section_id=session.section_id, user_id__in=ids, role=Enrollment.Role.STUDENT, active=True
        ).values_list("user_id", flat=True)
    )
    ratings = dict(
        Evidence.objects.filter(
            source=SMALL_GROUP_SOURCE, external_id__in=[session_external_id(session.pk, i) for i in ids]
        ).values_list("student_id", "rating")
    )
    current = _current_paths(set(ids))
    states = dict(
        PathStep.objects.filter(
            path_id__in=list(current.values()) or [0], competency_id=session.competency_id
        ).values_list("path__student_id", "state")
    )
    labels = dict(PathStep.State.choices)
    return [
        MemberRow(
            m.student,
            m.student_id in active,
            ratings.get(m.student_id),
            states.get(m.student_id, ""),
            str(labels.get(states.get(m.student_id, ""), "")),
        )
        for m in members
    ]
