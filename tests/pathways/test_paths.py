"""Path generation, teacher edits, step states that follow mastery, evidence updating the path at once,
and alerts opening and resolving over nights. PostgreSQL; refused requests change nothing."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from mastery.models import Competency, Evidence, Framework, MasteryState, Prerequisite
from mastery.services import mastery_recompute
from pathways import selectors
from pathways.models import AlertCondition, LearningPath, PacingAlert, PathStep
from pathways.services import (
    alert_acknowledge,
    alert_resolve,
    alerts_evaluate,
    evidence_record_and_update,
    pacing_compute,
    path_dates_set,
    path_generate,
    path_step_add,
    path_step_pin,
    path_step_remove,
    path_step_reorder,
    path_step_skip,
    path_step_unskip,
)
from pathways.services.pacing import NightFacts
from tests.world import World

D = datetime.date
ON = D(2026, 11, 2)


class Graph:
    """Math grades 3-6. A3 <- A4 <- A5 <- D5;  B4 <- B5 (also needs A5);  C5 alone;  B5 <- X6.
    The student (grade 5) has mastered A3 before the term."""

    def __init__(self, world: World):
        self.student = world.s_a1_1
        self.math = Framework.objects.create(name="Math", subject="Mathematics", grade_low=3, grade_high=6)
        self.c: dict[str, Competency] = {}
        for sort, (code, grade) in enumerate(
            [("A3", 3), ("A4", 4), ("B4", 4), ("A5", 5), ("B5", 5), ("C5", 5), ("D5", 5), ("X6", 6)]
        ):
            self.c[code] = Competency.objects.create(
                framework=self.math, code=code, statement=code, grade_level=grade, sort_order=sort
            )
        for competency, prerequisite in [
            ("A4", "A3"),
            ("A5", "A4"),
            ("D5", "A5"),
            ("B5", "B4"),
            ("B5", "A5"),
            ("X6", "B5"),
        ]:
            Prerequisite.objects.create(competency=self.c[competency], prerequisite=self.c[prerequisite])
        MasteryState.objects.create(
            student=self.student,
            competency=self.c["A3"],
            status="mastered",
            first_mastered_at=datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC),
        )

    def steps(self, path: LearningPath) -> list[tuple[int, str, str, str]]:
        codes = {c.pk: code for code, c in self.c.items()}
        return [
            (s.order, codes[s.competency_id], s.reason, s.state)
            for s in PathStep.objects.filter(path=path).order_by("order")
        ]

    def step(self, path: LearningPath, code: str) -> PathStep:
        return PathStep.objects.get(path=path, competency=self.c[code])


@pytest.fixture
def graph(world: World) -> Graph:
    return Graph(world)


@pytest.fixture
def path(graph: Graph) -> LearningPath:
    return path_generate(student_id=graph.student.pk, on=ON)


GENERATED = [
    (1, "C5", "grade_level_target", "ready"),  # prerequisites met: ready at once, first
    (2, "A4", "gap_filling", "ready"),  # the one gap-filling step the cheapest target needs
    (3, "A5", "grade_level_target", "locked"),
    (4, "D5", "grade_level_target", "locked"),  # nothing left to fill: straight after A5
    (5, "B4", "gap_filling", "ready"),
    (6, "B5", "grade_level_target", "locked"),
]


def test_a_path_targets_the_grade_adds_the_missing_prerequisites_and_orders_them(graph: Graph, path: LearningPath):
    assert graph.steps(path) == GENERATED
    assert (path.framework, path.term.name, path.start_date, path.target_date) == (
        graph.math,
        "2026-27",
        D(2026, 8, 24),
        D(2027, 6, 11),
    )
    assert path.targets_mastered_at_start == 0
    assert list(
        PathStep.objects.filter(path=path, is_target=True).order_by("order").values_list("order", flat=True)
    ) == [
        1,
        3,
        4,
        6,
    ]
    view = selectors.student_path(path=path)
    waits = {v.step.competency.code: [c.code for c in v.waits_for] for v in view.steps}
    assert waits == {"C5": [], "A4": [], "A5": ["A4"], "D5": ["A5"], "B4": [], "B5": ["B4", "A5"]}
    assert [(g.strand, [v.step.competency.code for v in g.steps]) for g in view.strands] == [
        (None, ["C5", "A4", "A5", "D5", "B4", "B5"])
    ]
    assert view.counts == {"locked": 3, "ready": 3, "in_progress": 0, "mastered": 0, "skipped": 0}


def test_a_teacher_may_choose_targets_above_grade(graph: Graph):
    path = path_generate(student_id=graph.student.pk, on=ON, target_competency_ids=[graph.c["X6"].pk])
    assert graph.steps(path) == [
        (1, "A4", "gap_filling", "ready"),
        (2, "B4", "gap_filling", "ready"),
        (3, "A5", "gap_filling", "locked"),
        (4, "B5", "gap_filling", "locked"),
        (5, "X6", "grade_level_target", "locked"),
    ]
    assert path.chosen_target_ids == [graph.c["X6"].pk]


def test_a_target_date_before_the_start_is_refused_and_nothing_is_created(graph: Graph):
    with pytest.raises(ValidationError) as refused:
        path_generate(student_id=graph.student.pk, on=ON, start_date=D(2026, 9, 1), target_date=D(2026, 8, 31))
    assert refused.value.message_dict == {
        "target_date": ["The target date (2026-08-31) must come after the start date (2026-09-01)."]
    }
    assert LearningPath.objects.count() == PathStep.objects.count() == 0


def test_changing_the_dates_checks_them_and_changes_nothing_when_refused(path: LearningPath):
    with pytest.raises(ValidationError) as refused:
        path_dates_set(path_id=path.pk, start_date=D(2026, 9, 1), target_date=D(2026, 9, 1))
    assert refused.value.message_dict == {
        "target_date": ["The target date (2026-09-01) must come after the start date (2026-09-01)."]
    }
    path.refresh_from_db()
    assert (path.start_date, path.target_date) == (D(2026, 8, 24), D(2027, 6, 11))
    path_dates_set(path_id=path.pk, start_date=D(2026, 9, 1), target_date=D(2027, 5, 28))
    path.refresh_from_db()
    assert (path.start_date, path.target_date) == (D(2026, 9, 1), D(2027, 5, 28))


def test_reordering_against_prerequisites_is_refused_and_nothing_changes(graph: Graph, path: LearningPath):
    with pytest.raises(ValidationError) as refused:
        path_step_reorder(step_id=graph.step(path, "A5").pk, position=1)
    assert refused.value.message_dict == {"position": ["A5 cannot come before A4: A4 is a prerequisite of A5."]}
    assert graph.steps(path) == GENERATED
    with pytest.raises(ValidationError) as refused:
        path_step_reorder(step_id=graph.step(path, "A5").pk, position=7)
    assert refused.value.message_dict == {"position": ["Choose a position from 1 to 6."]}
    assert graph.steps(path) == GENERATED

    path_step_reorder(step_id=graph.step(path, "B4").pk, position=1)
    assert [code for _, code, _, _ in graph.steps(path)] == ["B4", "C5", "A4", "A5", "D5", "B5"]


def test_removing_a_step_another_step_needs_is_refused(graph: Graph, path: LearningPath):
    with pytest.raises(ValidationError) as refused:
        path_step_remove(step_id=graph.step(path, "A4").pk)
    assert refused.value.message_dict == {
        "step": ["A4 is a prerequisite of A5 on this path; skip it with a reason instead, or remove A5 first."]
    }
    assert graph.steps(path) == GENERATED
    path_step_remove(step_id=graph.step(path, "C5").pk)
    assert [(order, code) for order, code, _, _ in graph.steps(path)] == [
        (1, "A4"),
        (2, "A5"),
        (3, "D5"),
        (4, "B4"),
        (5, "B5"),
    ]


def test_skip_needs_a_reason_stays_skipped_and_unskip_follows_mastery_again(graph: Graph, path: LearningPath):
    step = graph.step(path, "A4")
    with pytest.raises(ValidationError) as refused:
        path_step_skip(step_id=step.pk, reason="  ")
    assert refused.value.message_dict == {"reason": ["Say why the step is skipped."]}
    assert graph.steps(path) == GENERATED

    path_step_skip(step_id=step.pk, reason="Shown in class discussion.")
    evidence_record_and_update(student_id=graph.student.pk, competency_id=graph.c["C5"].pk, observed_at=ON, score=0.0)
    assert graph.step(path, "A4").state == "skipped"
    assert graph.step(path, "C5").state == "in_progress"
    assert path_step_unskip(step_id=step.pk).state == "ready"
    assert graph.step(path, "A4").skip_reason == ""


def test_added_steps_bring_their_missing_prerequisites_and_regeneration_keeps_teacher_work(
    graph: Graph, path: LearningPath
):
    with pytest.raises(ValidationError) as refused:
        path_step_add(path_id=path.pk, competency_id=graph.c["A5"].pk)
    assert refused.value.message_dict == {"competency": ["A5 is already on this path."]}

    added = path_step_add(path_id=path.pk, competency_id=graph.c["X6"].pk)
    assert [(s.order, s.reason) for s in added] == [(7, "teacher_added")]
    path_step_pin(step_id=graph.step(path, "B4").pk)
    path_step_skip(step_id=graph.step(path, "D5").pk, reason="Covered by the science unit.")
    path_step_reorder(step_id=graph.step(path, "B4").pk, position=1)

    path_generate(student_id=graph.student.pk, on=ON)

    assert graph.steps(path) == [
        *GENERATED[:3],
        (4, "D5", "grade_level_target", "skipped"),
        *GENERATED[4:],
        (7, "X6", "teacher_added", "locked"),
    ]
    assert graph.step(path, "B4").pinned is True
    assert graph.step(path, "D5").skip_reason == "Covered by the science unit."


def test_recording_evidence_updates_the_path_at_once(graph: Graph, path: LearningPath):
    for hour in (9, 10, 11):
        evidence_record_and_update(
            student_id=graph.student.pk,
            competency_id=graph.c["A4"].pk,
            observed_at=datetime.datetime(2026, 11, 2, hour, tzinfo=datetime.UTC),
            score=1.0,
        )
    assert MasteryState.objects.get(student=graph.student, competency=graph.c["A4"]).status == "mastered"
    assert [(code, state) for _, code, _, state in graph.steps(path)] == [
        ("C5", "ready"),
        ("A4", "mastered"),
        ("A5", "ready"),  # its prerequisite is mastered now
        ("D5", "locked"),
        ("B4", "ready"),
        ("B5", "locked"),
    ]


def test_pacing_is_stored_and_said_in_words(graph: Graph, path: LearningPath):
    assert pacing_compute(student_ids=[graph.student.pk], on=ON) == 1
    assert pacing_compute(student_ids=[graph.student.pk], on=ON) == 0  # a rerun writes nothing
    path.refresh_from_db()
    assert (path.pacing_on, path.pacing_status) == (ON, "off_track")  # nothing mastered in the last 20 days
    assert path.pacing["target_count"] == 4 and path.pacing["mastered"] == 0
    assert path.pacing["school_days_elapsed"] == 50  # (Aug 24, Nov 2]: 50 weekdays, no holidays in this term
    view = selectors.student_path(path=path)
    assert view.pacing_for_student == (
        "You mastered none of the grade 5 goals in the last 20 school days, so there is no pace yet to project a "
        "finish from; the target is 11 June."
    )
    assert view.behind == "1 competency behind"  # E = 4 * 50 / 200 ... ceil


def test_an_alert_opens_after_two_school_days_resolves_after_two_clear_and_teachers_act_on_it(
    graph: Graph, path: LearningPath
):
    student = graph.student.pk
    alerts_evaluate(student_ids=[student], on=D(2026, 11, 2))
    assert PacingAlert.objects.count() == 0
    alerts_evaluate(student_ids=[student], on=D(2026, 11, 3))
    inactive = PacingAlert.objects.get(kind="inactive")
    assert (inactive.status, inactive.opened_on, inactive.numbers) == (
        "open",
        D(2026, 11, 3),
        {"last_evidence_on": None, "school_days_without_evidence": 52},  # [Aug 24, Nov 3]
    )
    assert inactive.reason == "No evidence for 52 school days (since the path started)."
    before = list(PacingAlert.objects.order_by("pk").values())
    assert alerts_evaluate(student_ids=[student], on=D(2026, 11, 3)) == 0
    assert list(PacingAlert.objects.order_by("pk").values()) == before

    alert_acknowledge(alert_id=inactive.pk, by=graph.student)  # (who acts is the caller's business)
    evidence_record_and_update(
        student_id=student, competency_id=graph.c["C5"].pk, observed_at=D(2026, 11, 4), score=0.2
    )
    alerts_evaluate(student_ids=[student], on=D(2026, 11, 4))
    inactive.refresh_from_db()
    assert inactive.status == "acknowledged"  # cleared once: not yet
    alerts_evaluate(student_ids=[student], on=D(2026, 11, 5))
    inactive.refresh_from_db()
    assert (inactive.status, inactive.resolved_on) == ("resolved", D(2026, 11, 5))
    assert not AlertCondition.objects.filter(kind="inactive").exists()

    behind = PacingAlert.objects.get(kind="behind_pace")
    views = selectors.open_alerts(student_ids=[student])
    assert [(v.alert.kind, v.student_wording) for v in views] == [
        (
            "behind_pace",
            "You are a little behind the pace for your goals. Your teacher will help you plan the next steps.",
        )
    ]
    with pytest.raises(ValidationError) as refused:
        alert_resolve(alert_id=behind.pk, by=graph.student, note="")
    assert refused.value.message_dict == {"note": ["Say what was done: resolving an alert needs a note."]}
    behind.refresh_from_db()
    assert behind.status == "open"
    alert_resolve(alert_id=behind.pk, by=graph.student, note="Planned two small-group sessions.", on=D(2026, 11, 5))
    # The condition still holds, but the alert a teacher resolved is not raised again the next night.
    alerts_evaluate(student_ids=[student], on=D(2026, 11, 6))
    assert PacingAlert.objects.filter(kind="behind_pace").count() == 1


def noon(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)


def test_stuck_counts_this_terms_work_only_not_a_gap_left_from_last_year(graph: Graph, path: LearningPath):
    """Six wrong answers on A4 last June leave a gap (a gap-filling step), not a stuck alert; six wrong
    answers this term over ten school days are stuck."""
    student = graph.student
    for n in range(6):
        Evidence.objects.create(
            student=student, competency=graph.c["A4"], kind="score", score=0.0, observed_at=noon(D(2026, 6, 1 + n))
        )
    mastery_recompute(pairs=[(student.pk, graph.c["A4"].pk)])
    for night in (D(2026, 11, 2), D(2026, 11, 3)):
        alerts_evaluate(student_ids=[student.pk], on=night)
    assert not PacingAlert.objects.filter(kind="stuck").exists()

    for n in range(6):
        Evidence.objects.create(
            student=student, competency=graph.c["A4"], kind="score", score=0.0, observed_at=noon(D(2026, 10, 1 + 2 * n))
        )
    mastery_recompute(pairs=[(student.pk, graph.c["A4"].pk)])
    for night in (D(2026, 11, 4), D(2026, 11, 5)):
        alerts_evaluate(student_ids=[student.pk], on=night)
    stuck = PacingAlert.objects.get(kind="stuck")
    assert (stuck.competency_id, stuck.opened_on) == (graph.c["A4"].pk, D(2026, 11, 5))
    assert stuck.numbers == {
        "first_evidence_on": "2026-10-01",
        "school_days_in_progress": 25,  # (1 October, 5 November]: 25 weekdays
        "evidence_count": 6,
        "scored_responses": 6,
        "mastered": False,
    }


def test_evidence_its_source_withdrew_keeps_no_one_active_and_no_one_stuck(graph: Graph, path: LearningPath):
    """Six wrong answers on A4 this term that their tool then voided (xAPI): the nights read the student's
    evidence as if it had never arrived; without the voiding they would be stuck and not inactive."""
    student = graph.student
    for n in range(6):
        Evidence.objects.create(
            student=student,
            competency=graph.c["A4"],
            kind="score",
            score=0.0,
            observed_at=noon(D(2026, 10, 1 + 2 * n)),
            voided_at=noon(D(2026, 10, 30)),
        )
    mastery_recompute(pairs=[(student.pk, graph.c["A4"].pk)])
    facts = NightFacts.load(student_ids=[student.pk], on=D(2026, 11, 3))
    assert (facts.evidence, facts.recent) == ({}, {})
    for night in (D(2026, 11, 2), D(2026, 11, 3)):
        alerts_evaluate(student_ids=[student.pk], on=night)
    assert sorted(PacingAlert.objects.values_list("kind", flat=True)) == ["behind_pace", "held_back", "inactive"]
    inactive = PacingAlert.objects.get(kind="inactive")
    assert inactive.numbers == {"last_evidence_on": None, "school_days_without_evidence": 52}
