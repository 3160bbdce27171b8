"""Reads of the mastery app."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.db.models import Exists, OuterRef, QuerySet

from profiles.models import Enrollment, LearnerProfile, Section, User

from . import rules
from .models import (
    Competency,
    Evidence,
    Framework,
    MasteryMethod,
    MasteryPolicy,
    MasteryState,
    MasteryStatus,
    Prerequisite,
)

# Walks from the proposed prerequisite down its own prerequisites; if it reaches the dependent
# competency, the new edge would close a cycle. Returns the ids along the way.
_CYCLE_SQL = """
WITH RECURSIVE walk(node, trail) AS (
    SELECT %(start)s::bigint, ARRAY[%(start)s::bigint]
  UNION ALL
    SELECT p.prerequisite_id, walk.trail || p.prerequisite_id
    FROM mastery_prerequisite p JOIN walk ON p.competency_id = walk.node
    WHERE NOT p.prerequisite_id = ANY(walk.trail)
)
SELECT trail FROM walk WHERE node = %(target)s LIMIT 1
"""


def prerequisite_cycle_path(*, competency_id: int, prerequisite_id: int) -> list[str]:
    """Codes along the cycle that the edge prerequisite → competency would close, or [] if none."""
    with connection.cursor() as cursor:
        cursor.execute(_CYCLE_SQL, {"start": prerequisite_id, "target": competency_id})
        row = cursor.fetchone()
    if row is None:
        return []
    # trail runs prerequisite → ... → competency following "requires" edges; the new edge closes it.
    trail: list[int] = row[0]
    codes = dict(Competency.objects.filter(id__in=trail).values_list("id", "code"))
    return [codes[node] for node in [competency_id, *trail]]


# --- mastery: rules and policies, pairs to recompute, ready to learn, explanations ----------------------


def mastery_thresholds() -> rules.Thresholds:
    """The numbers of the mastery rules, from settings.PLPLATFORM."""
    return rules.Thresholds.from_settings(settings.PLPLATFORM)


def mastery_default_bkt_params() -> rules.BKTParams:
    """Settings BKT_DEFAULTS (DESIGN.md section 4)."""
    defaults: Mapping[str, Any] = settings.PLPLATFORM["BKT_DEFAULTS"]  # type: ignore[assignment]
    return rules.BKTParams.from_mapping(defaults)


def mastery_latest_policies(*, framework_ids: Iterable[int] | None = None) -> dict[int, MasteryPolicy]:
    """The latest policy version of each framework (frameworks without a policy are absent). One query."""
    policies = MasteryPolicy.objects.order_by("framework_id", "-version").distinct("framework_id")
    if framework_ids is not None:
        policies = policies.filter(framework_id__in=list(framework_ids))
    return {policy.framework_id: policy for policy in policies}


def mastery_method(policy: MasteryPolicy | None) -> str:
    """The policy's method; BKT when the framework has no policy."""
    return rules.BKT if policy is None else policy.method


def mastery_bkt_params(
    policy: MasteryPolicy | None, competency_id: int, *, defaults: rules.BKTParams | None = None
) -> rules.BKTParams:
    """BKT parameters of one competency: the policy's parameters["per_competency"][id], else the policy's
    own, else settings BKT_DEFAULTS, key by key."""
    base = defaults or mastery_default_bkt_params()
    if policy is None:
        return base
    parameters = policy.parameters or {}
    own = rules.BKTParams.from_mapping(parameters, base)
    per_competency = (parameters.get("per_competency") or {}).get(str(competency_id))
    return rules.BKTParams.from_mapping(per_competency, own) if per_competency else own


# The evidence recorded since a cut-off is read first, as a range at the end of evidence_created_idx (the
# new rows only), and only then matched to the school's students. MATERIALIZED keeps the planner from the
# other way round, which it prefers: every evidence row of each of the school's students, all their
# history, read to check created_at; that made a night's planning grow with the evidence stored instead
# of with the new evidence (bench/nightly.py).
# New evidence, and evidence voided since (its pair must be recomputed without it); each arm has its own
# index (evidence_created_idx, and the partial evidence_voided_idx).
_NEW_PAIRS_SQL = """
WITH new AS MATERIALIZED (
    SELECT student_id, competency_id FROM {evidence} WHERE created_at > %(since)s
    UNION ALL
    SELECT student_id, competency_id FROM {evidence} WHERE voided_at > %(since)s
)
SELECT DISTINCT new.student_id, new.competency_id FROM new {school_join}
ORDER BY new.student_id, new.competency_id
"""
_NEW_PAIRS_SCHOOL_JOIN = "JOIN {profiles} p ON p.{student} = new.student_id AND p.{school} = %(school)s"


def mastery_pairs_with_new_evidence(*, school_id: int | None, since: datetime | None) -> list[tuple[int, int]]:
    """Distinct (student id, competency id) pairs with evidence recorded (created_at) or voided (voided_at)
    after `since`, or every pair with evidence when `since` is None; students of one school
    (LearnerProfile.school). One query."""
    if since is not None:
        school_join = ""
        if school_id is not None:
            profile = LearnerProfile._meta
            school_join = _NEW_PAIRS_SCHOOL_JOIN.format(
                profiles=profile.db_table, student=profile.pk.column, school=profile.get_field("school").column
            )
        with connection.cursor() as cursor:
            cursor.execute(
                _NEW_PAIRS_SQL.format(evidence=Evidence._meta.db_table, school_join=school_join),
                {"since": since, "school": school_id},
            )
            return [(student_id, competency_id) for student_id, competency_id in cursor.fetchall()]
    evidence = Evidence.objects.all()
    if school_id is not None:
        evidence = evidence.filter(student__learner_profile__school_id=school_id)
    pairs = evidence.order_by("student_id", "competency_id").values_list("student_id", "competency_id").distinct()
    return [(student_id, competency_id) for student_id, competency_id in pairs]


def _mastered_competency_ids(student_id: int) -> models.QuerySet:
    """Competencies whose effective status (an override wins) is mastered, as a subquery."""
    mastered = models.Q(override_status=MasteryStatus.MASTERED) | models.Q(
        override_status__isnull=True, status=MasteryStatus.MASTERED
    )
    return MasteryState.objects.filter(mastered, student_id=student_id).values("competency_id")


def ready_to_learn(*, student_id: int, framework_id: int | None = None) -> models.QuerySet[Competency]:
    """Competencies the student is ready to learn: assessable, not deprecated, not mastered (effective
    status), and every prerequisite mastered, wherever it sits (another grade or framework included).
    A deprecated prerequisite no longer blocks. One query."""
    mastered = _mastered_competency_ids(student_id)
    blocking = Prerequisite.objects.filter(competency=models.OuterRef("pk"), prerequisite__deprecated=False).exclude(
        prerequisite_id__in=mastered
    )
    ready = (
        Competency.objects.filter(assessable=True, deprecated=False)
        .exclude(pk__in=mastered)
        .exclude(models.Exists(blocking))
    )
    if framework_id is not None:
        ready = ready.filter(framework_id=framework_id)
    return ready.order_by("framework_id", "grade_level", "sort_order", "code")


def _person(user: Any) -> str | None:
    return None if user is None else str(user)  # User.__str__: the full name, else the username


def mastery_explanation(*, student_id: int, competency_id: int) -> dict[str, Any]:
    """Why the student has their status on one competency: the method and its parameters, the rule in
    words, the evidence that counted, the estimate after each piece of it, the stored state and any
    override. The rule is the one that produced the stored state (its policy version), or the framework's
    latest policy when nothing is stored yet. Estimates are on the method's own scale: a probability for
    BKT, the 1-4 rubric scale otherwise. Raises Competency.DoesNotExist for an unknown competency."""
    competency = Competency.objects.get(pk=competency_id)
    state = (
        MasteryState.objects.select_related("policy", "override_by")
        .filter(student_id=student_id, competency_id=competency_id)
        .first()
    )
    if state is not None:
        policy = state.policy
    else:
        policy = mastery_latest_policies(framework_ids=[competency.framework_id]).get(competency.framework_id)
    method = mastery_method(policy)
    thresholds = mastery_thresholds()
    params = mastery_bkt_params(policy, competency_id) if method == rules.BKT else None

    evidence = list(
        Evidence.objects.counted()
        .filter(student_id=student_id, competency_id=competency_id)
        .select_related("recorded_by")
        .order_by("observed_at", "id")
    )
    observations = [
        rules.Observation(e.kind, e.observed_at, score=e.score, rating=e.rating, evidence_id=e.pk) for e in evidence
    ]
    outcome = rules.evaluate(
        method,
        params,
        thresholds,
        observations,
        first_mastered_at=state.first_mastered_at if state is not None else None,
    )
    by_id = {e.pk: e for e in evidence}
    counted = [by_id[o.evidence_id] for o in outcome.counted if o.evidence_id is not None]
    return {
        "student_id": student_id,
        "competency_id": competency_id,
        "method": method,
        "method_label": MasteryMethod(method).label,
        "policy": None if policy is None else {"id": policy.pk, "version": policy.version},
        "parameters": _rule_parameters(method, params, thresholds),
        "rule": rules.describe(method, params, thresholds),
        "evidence": [
            {
                "id": e.pk,
                "kind": e.kind,
                "score": e.score,
                "rating": e.rating,
                "source": e.source,
                "observed_at": e.observed_at,
                "recorded_by": _person(e.recorded_by),
            }
            for e in counted
        ],
        "trajectory": list(outcome.trajectory),
        "computed": {
            "status": outcome.status,
            "estimate": outcome.estimate,
            "first_mastered_at": outcome.first_mastered_at,
        },
        "state": None
        if state is None
        else {
            "status": state.status,
            "effective_status": state.effective_status,
            "estimate": state.estimate,
            "evidence_count": state.evidence_count,
            "first_mastered_at": state.first_mastered_at,
            "last_evidence_at": state.last_evidence_at,
            "updated_at": state.updated_at,
        },
        "override": None
        if state is None or state.override_status is None
        else {
            "status": state.override_status,
            "note": state.override_note,
            "author": _person(state.override_by),
            "at": state.override_at,
        },
    }


def _rule_parameters(method: str, params: rules.BKTParams | None, th: rules.Thresholds) -> dict[str, float | int]:
    """The numbers the rule used, by name."""
    if method == rules.BKT:
        assert params is not None
        return {
            **params.as_dict(),
            "mastery_threshold": th.mastery,
            "min_scored_observations": th.min_scored,
            "retention_threshold": th.retention,
            "rating_guess_slip": th.rating_guess_slip,
            "rating_meets": th.rating_meets,
            "completion_learn": th.completion_learn,
        }
    numbers: dict[str, float | int] = {"mastery_level": th.rubric_level}
    if method == rules.DECAYING_AVERAGE:
        numbers.update(weight=th.decaying_weight, min_ratings=th.decaying_min_ratings)
    elif method == rules.N_TIMES:
        numbers.update(n=th.n_times)
    return numbers


# --- HTML pages: the section mastery grid, a student's mastery map and summary ---------------------------
# Every status is written as a word or an abbreviation; colour only repeats it. "*" marks a teacher override.
STATUS_ABBREVIATIONS: dict[str, str] = {
    MasteryStatus.NOT_STARTED: "NS",
    MasteryStatus.IN_PROGRESS: "IP",
    MasteryStatus.MASTERED: "M",
    MasteryStatus.NEEDS_REVIEW: "NR",
}


@dataclass(frozen=True)
class StatusCell:
    """A student's effective status on one competency: an override wins; no stored state is "not started"."""

    competency: Competency
    status: str
    overridden: bool = False
    estimate: float | None = None
    method: str | None = None  # the method of the policy that produced the state
    ready: bool = False  # ready to learn: not mastered, every prerequisite mastered

    @property
    def label(self) -> str:
        return MasteryStatus(self.status).label

    @property
    def abbreviation(self) -> str:
        return STATUS_ABBREVIATIONS[MasteryStatus(self.status)] + ("*" if self.overridden else "")

    @property
    def percent(self) -> int | None:
        """P(known) as a whole percentage, for BKT states only (other policies estimate on their own scale)."""
        if self.method != "bkt" or self.estimate is None:
            return None
        return round(self.estimate * 100)


def _cell(competency: Competency, row: tuple | None, *, ready: bool = False) -> StatusCell:
    """row: (status, override_status, estimate, policy method) of a stored state, or None."""
    if row is None:
        return StatusCell(competency, MasteryStatus.NOT_STARTED, ready=ready)
    status, override_status, estimate, method = row
    return StatusCell(competency, override_status or status, override_status is not None, estimate, method, ready)


# Plain SQL: a section's grid reads 7,000 states (35 students × 200 competencies), which the ORM's row handling
# would take several times longer to turn into tuples.
_STATE_ROWS_SQL = """
SELECT s.student_id, s.competency_id, s.status, s.override_status, s.estimate, p.method
FROM mastery_masterystate s LEFT JOIN mastery_masterypolicy p ON p.id = s.policy_id
WHERE s.student_id = ANY(%s::bigint[]) AND s.competency_id = ANY(%s::bigint[])
"""


_GRID_STATE_ROWS_SQL = """
SELECT s.student_id, s.competency_id, s.status, s.override_status
FROM mastery_masterystate s
WHERE s.student_id = ANY(%s::bigint[]) AND s.competency_id = ANY(%s::bigint[])
"""


def _grid_state_rows(
    student_ids: list[int], competency_ids: list[int]
) -> dict[tuple[int, int], tuple[str, str | None]]:
    """(student, competency) → (status, override status) of the stored states: what a grid cell shows."""
    with connection.cursor() as cursor:
        cursor.execute(_GRID_STATE_ROWS_SQL, [student_ids, competency_ids])
        return {(student, competency): (status, override) for student, competency, status, override in cursor}


def _state_rows(student_ids: list[int], competency_ids: list[int]) -> dict[tuple[int, int], tuple]:
    """(student, competency) → (status, override status, estimate, policy method) of the stored states."""
    with connection.cursor() as cursor:
        cursor.execute(_STATE_ROWS_SQL, [student_ids, competency_ids])
        return {(row[0], row[1]): row[2:] for row in cursor.fetchall()}


def _assessable(framework: Framework) -> QuerySet[Competency]:
    return (
        Competency.objects.filter(framework=framework, assessable=True, deprecated=False)
        .select_related("parent")
        .order_by("grade_level", "sort_order", "code")
    )


def default_framework(frameworks: list[Framework], *, grade: int, subject: str = "") -> Framework | None:
    """The framework whose grade range covers the grade, preferring one of the same subject."""
    covering = [f for f in frameworks if f.grade_low <= grade <= f.grade_high]
    same_subject = [f for f in covering if subject and f.subject.casefold() == subject.casefold()]
    return next(iter(same_subject or covering or frameworks), None)


def _choose_framework(frameworks: list[Framework], framework_id: int | None, *, grade: int, subject: str = ""):
    if framework_id is None:
        return default_framework(frameworks, grade=grade, subject=subject)
    chosen = next((f for f in frameworks if f.pk == framework_id), None)
    if chosen is None:
        raise Framework.DoesNotExist(f"No framework {framework_id}.")
    return chosen


def _strands_of(competencies: list[Competency]) -> list[Competency]:
    """The parent competencies (strands) of the given ones, in the framework's order, each once."""
    strands = {c.parent_id: c.parent for c in competencies if c.parent is not None}
    return sorted(strands.values(), key=lambda s: (s.grade_level, s.sort_order, s.code))


@dataclass(frozen=True)
class GridColumn:
    competency: Competency
    mastered: int  # shown students whose effective status is mastered


@dataclass(frozen=True)
class GridRow:
    student: User
    cells: list[StatusCell]  # one per column, in column order


@dataclass(frozen=True)
class MasteryGrid:
    section: Section
    frameworks: list[Framework]
    framework: Framework | None
    grades: list[int]
    grade: int
    strands: list[Competency]
    strand: Competency | None
    columns: list[GridColumn]
    rows: list[GridRow]  # only the students the reader may see
    student_count: int  # every active student of the section, seen or not (a number, no names)


def mastery_grid(
    *,
    section: Section,
    visible_students: QuerySet[User],
    framework_id: int | None = None,
    grade: int | None = None,
    strand_id: int | None = None,
) -> MasteryGrid:
    """Students × competencies of one section, with each effective status.

    Rows: the section's active students among `visible_students` (an access-scoped queryset). Columns:
    the assessable, non-deprecated competencies of one framework and grade (default: the framework covering
    the section's grade, at that grade), optionally of one strand. A grade outside the framework and a strand
    not among its strands fall back to all; an unknown framework raises Framework.DoesNotExist.
    Four queries whatever the number of students: frameworks, competencies, enrollments, states. The cells
    carry the effective status and whether it is overridden (no estimate).
    """
    frameworks = list(Framework.objects.order_by("subject", "name", "pk"))
    framework = _choose_framework(frameworks, framework_id, grade=section.grade_level, subject=section.subject)
    if framework is None:
        return MasteryGrid(section, [], None, [], section.grade_level, [], None, [], [], 0)
    grades = list(range(framework.grade_low, framework.grade_high + 1))
    if grade not in grades:
        grade = min(max(section.grade_level, framework.grade_low), framework.grade_high)
    competencies = list(_assessable(framework).filter(grade_level=grade))
    strands = _strands_of(competencies)
    strand = next((s for s in strands if s.pk == strand_id), None)
    if strand is not None:
        competencies = [c for c in competencies if c.parent_id == strand.pk]

    enrollments = list(
        Enrollment.objects.filter(section=section, role=Enrollment.Role.STUDENT, active=True)
        .annotate(seen=Exists(visible_students.filter(pk=OuterRef("user_id"))))
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user_id")
    )
    students = [e.user for e in enrollments if getattr(e, "seen")]  # noqa: B009
    student_ids = [s.pk for s in students]
    competency_ids = [c.pk for c in competencies]
    states = _grid_state_rows(student_ids, competency_ids) if students and competencies else {}
    # 7,000 cells for 35 students × 200 competencies. A grid cell is its status and whether it is overridden (no
    # estimate: the grid does not show one), so each column needs at most eight distinct cells, made once.
    made: dict[tuple[int, str, str | None], StatusCell] = {}
    not_started = MasteryStatus.NOT_STARTED
    rows = []
    mastered = [0] * len(competencies)
    for student_id, student in zip(student_ids, students, strict=True):
        cells = []
        for competency_id, competency in zip(competency_ids, competencies, strict=True):
            status, override = states.get((student_id, competency_id), (not_started, None))
            cell = made.get((competency_id, status, override))
            if cell is None:
                cell = made[(competency_id, status, override)] = StatusCell(
                    competency, override or status, override is not None
                )
            cells.append(cell)
        for i, cell in enumerate(cells):
            if cell.status == MasteryStatus.MASTERED:
                mastered[i] += 1
        rows.append(GridRow(student, cells))
    columns = [GridColumn(c, count) for c, count in zip(competencies, mastered, strict=True)]
    return MasteryGrid(section, frameworks, framework, grades, grade, strands, strand, columns, rows, len(enrollments))


@dataclass(frozen=True)
class StatusCounts:
    mastered: int = 0
    in_progress: int = 0
    needs_review: int = 0
    not_started: int = 0
    ready: int = 0

    @property
    def total(self) -> int:
        return self.mastered + self.in_progress + self.needs_review + self.not_started


def _counts(cells: list[StatusCell]) -> StatusCounts:
    by_status = {status: sum(1 for c in cells if c.status == status) for status in MasteryStatus.values}
    return StatusCounts(**by_status, ready=sum(1 for c in cells if c.ready))


@dataclass(frozen=True)
class StrandGroup:
    strand: Competency | None  # None: competencies with no parent
    cells: list[StatusCell]


@dataclass(frozen=True)
class GradeGroup:
    grade: int
    strands: list[StrandGroup]
    counts: StatusCounts


@dataclass(frozen=True)
class MasteryMap:
    frameworks: list[Framework]
    framework: Framework | None
    grades: list[GradeGroup]
    counts: StatusCounts


def student_mastery_map(
    *, student_id: int, grade: int, ready_ids: set[int], framework_id: int | None = None
) -> MasteryMap:
    """Every assessable competency of one framework (default: the one covering the student's grade) with the
    student's effective status, grouped by grade and strand. `ready_ids`: competencies ready to learn.
    Three queries: frameworks, competencies, states.
    """
    frameworks = list(Framework.objects.order_by("subject", "name", "pk"))
    framework = _choose_framework(frameworks, framework_id, grade=grade)
    if framework is None:
        return MasteryMap([], None, [], StatusCounts())
    competencies = list(_assessable(framework))
    states = _state_rows([student_id], [c.pk for c in competencies]) if competencies else {}
    cells = [_cell(c, states.get((student_id, c.pk)), ready=c.pk in ready_ids) for c in competencies]
    groups: list[GradeGroup] = []
    for level in sorted({c.competency.grade_level for c in cells}):
        in_grade = [c for c in cells if c.competency.grade_level == level]
        strands: dict[int | None, StrandGroup] = {}
        for cell in in_grade:
            parent = cell.competency.parent
            group = strands.setdefault(parent.pk if parent else None, StrandGroup(parent, []))
            group.cells.append(cell)
        ordered = sorted(strands.values(), key=lambda g: (g.strand is None, g.strand.sort_order if g.strand else 0))
        groups.append(GradeGroup(level, ordered, _counts(in_grade)))
    return MasteryMap(frameworks, framework, groups, _counts(cells))


def student_mastery_counts(*, student_id: int, ready_ids: set[int]) -> StatusCounts:
    """How many assessable competencies the student has mastered, has in progress or to review (every
    framework; effective statuses), and how many are ready to learn. One query."""
    rows = MasteryState.objects.filter(
        student_id=student_id, competency__assessable=True, competency__deprecated=False
    ).values_list("status", "override_status")
    effective = [override or status for status, override in rows]
    return StatusCounts(
        mastered=effective.count(MasteryStatus.MASTERED),
        in_progress=effective.count(MasteryStatus.IN_PROGRESS),
        needs_review=effective.count(MasteryStatus.NEEDS_REVIEW),
        not_started=effective.count(MasteryStatus.NOT_STARTED),
        ready=len(ready_ids),
    )


def evidence_responses_for_fit(*, framework_id: int) -> models.QuerySet[Evidence, tuple[int, int, int]]:
    """A framework's scored evidence as (student id, competency id, correct 0/1) rows for fitting BKT,
    ordered per competency × student by observed_at (then id). A score counts as correct at >= 0.5 (the
    score rounded), a rating at >= BKT_RATING_MEETS; completions are left out."""
    meets = settings.PLPLATFORM["BKT_RATING_MEETS"]
    return (
        Evidence.objects.counted()
        .filter(competency__framework_id=framework_id, kind__in=[Evidence.Kind.SCORE, Evidence.Kind.RATING])
        .annotate(
            correct=models.Case(
                models.When(kind=Evidence.Kind.SCORE, score__gte=0.5, then=models.Value(1)),
                models.When(kind=Evidence.Kind.RATING, rating__gte=meets, then=models.Value(1)),
                default=models.Value(0),
                output_field=models.IntegerField(),
            )
        )
        .order_by("competency_id", "student_id", "observed_at", "id")
        .values_list("student_id", "competency_id", "correct")
    )


# --- a student's evidence, newest first (the learner profile's timeline) ------------------------------------

EVIDENCE_TIMELINE_PAGE = 20


@dataclass(frozen=True)
class TimelinePage:
    items: list[Evidence]  # with competency and recorded_by loaded
    page: int
    has_more: bool


def evidence_timeline(*, student_id: int, page: int = 1, per_page: int = EVIDENCE_TIMELINE_PAGE) -> TimelinePage:
    """One page of a student's evidence, newest observation first (then newest row), each with its competency
    and who recorded it. One query (a row more than the page, to know whether another page follows)."""
    page = max(page, 1)
    start = (page - 1) * per_page
    rows = list(
        Evidence.objects.filter(student_id=student_id)
        .select_related("competency", "recorded_by")
        .order_by("-observed_at", "-id")[start : start + per_page + 1]
    )
    return TimelinePage(rows[:per_page], page, len(rows) > per_page)


def student_overrides(*, student_id: int) -> QuerySet[MasteryState]:
    """The student's states a teacher has overridden, newest override first, with competency and author."""
    return (
        MasteryState.objects.filter(student_id=student_id, override_status__isnull=False)
        .select_related("competency", "override_by")
        .order_by("-override_at", "-pk")
    )
