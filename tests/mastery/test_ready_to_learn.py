"""Ready to learn: not mastered (effective status), every prerequisite mastered, wherever it sits."""

from __future__ import annotations

import pytest
from django.utils import timezone

from mastery.models import Competency, Framework, MasteryState, Prerequisite
from mastery.selectors import ready_to_learn


class Graph:
    """Math, grades 3-5:
        G4.A (grade 4)  →  G5.A (grade 5)  →  G5.B (grade 5, also needs G4.A)
        G5.C (no prerequisites);  G5.D deprecated;  G5.E needs only the deprecated G5.D;
        G5.S a strand (not assessable);  G5.X deprecated itself.
    Science: S.1 (grade 5) needs Math's G4.A.
    """

    def __init__(self):
        self.math = Framework.objects.create(name="Math", subject="Mathematics", grade_low=3, grade_high=5)
        self.science = Framework.objects.create(name="Science", subject="Science", grade_low=3, grade_high=5)

        def make(framework, code, grade, **extra):
            return Competency.objects.create(framework=framework, code=code, statement=code, grade_level=grade, **extra)

        self.g4a = make(self.math, "G4.A", 4)
        self.g5a = make(self.math, "G5.A", 5)
        self.g5b = make(self.math, "G5.B", 5)
        self.g5c = make(self.math, "G5.C", 5)
        self.g5d = make(self.math, "G5.D", 5, deprecated_at=timezone.now())
        self.g5e = make(self.math, "G5.E", 5)
        make(self.math, "G5.S", 5, assessable=False)
        make(self.math, "G5.X", 5, deprecated_at=timezone.now())
        self.s1 = make(self.science, "S.1", 5)
        for competency, prerequisite in (
            (self.g5a, self.g4a),
            (self.g5b, self.g5a),
            (self.g5b, self.g4a),
            (self.g5e, self.g5d),
            (self.s1, self.g4a),
        ):
            Prerequisite.objects.create(competency=competency, prerequisite=prerequisite)


@pytest.fixture
def graph(db) -> Graph:
    return Graph()


def codes(queryset) -> set[str]:
    return {c.code for c in queryset}


def state(student, competency, status, override=None, author=None) -> MasteryState:
    return MasteryState.objects.create(
        student=student,
        competency=competency,
        status=status,
        override_status=override,
        override_note="Seen in class." if override else "",
        override_by=author if override else None,
        override_at=timezone.now() if override else None,
    )


def test_nothing_mastered(world, graph, django_assert_num_queries):
    with django_assert_num_queries(1):
        ready = codes(ready_to_learn(student_id=world.s_a1_1.pk))
    assert ready == {"G4.A", "G5.C", "G5.E"}  # G5.E: a deprecated prerequisite no longer blocks


def test_a_cross_grade_prerequisite_mastered_opens_its_dependents_in_any_framework(world, graph):
    state(world.s_a1_1, graph.g4a, "mastered")
    assert codes(ready_to_learn(student_id=world.s_a1_1.pk)) == {"G5.A", "G5.C", "G5.E", "S.1"}
    assert codes(ready_to_learn(student_id=world.s_a1_1.pk, framework_id=graph.science.pk)) == {"S.1"}
    assert codes(ready_to_learn(student_id=world.s_a1_1.pk, framework_id=graph.math.pk)) == {"G5.A", "G5.C", "G5.E"}


def test_every_prerequisite_must_be_mastered(world, graph):
    state(world.s_a1_1, graph.g5a, "mastered")  # G5.B also needs G4.A
    assert codes(ready_to_learn(student_id=world.s_a1_1.pk)) == {"G4.A", "G5.C", "G5.E"}
    state(world.s_a1_1, graph.g4a, "mastered")
    assert codes(ready_to_learn(student_id=world.s_a1_1.pk)) == {"G5.B", "G5.C", "G5.E", "S.1"}


def test_in_progress_and_needs_review_are_not_mastered(world, graph):
    state(world.s_a1_1, graph.g4a, "needs_review")
    state(world.s_a1_1, graph.g5c, "in_progress")
    assert codes(ready_to_learn(student_id=world.s_a1_1.pk)) == {"G4.A", "G5.C", "G5.E"}


def test_overrides_count_both_ways(world, graph):
    state(world.s_a1_1, graph.g4a, "in_progress", override="mastered", author=world.t_a1)
    state(world.s_a1_1, graph.g5c, "mastered", override="needs_review", author=world.t_a1)
    assert codes(ready_to_learn(student_id=world.s_a1_1.pk)) == {"G5.A", "G5.C", "G5.E", "S.1"}


def test_another_students_mastery_does_not_count(world, graph):
    state(world.s_a1_2, graph.g4a, "mastered")
    assert codes(ready_to_learn(student_id=world.s_a1_1.pk)) == {"G4.A", "G5.C", "G5.E"}
    assert codes(ready_to_learn(student_id=world.s_a1_2.pk)) == {"G5.A", "G5.C", "G5.E", "S.1"}


def test_everything_mastered_leaves_nothing(world, graph):
    for competency in (graph.g4a, graph.g5a, graph.g5b, graph.g5c, graph.g5e, graph.s1):
        state(world.s_a1_1, competency, "mastered")
    assert codes(ready_to_learn(student_id=world.s_a1_1.pk)) == set()


def test_order_is_framework_grade_then_sort_order(world, graph):
    state(world.s_a1_1, graph.g4a, "mastered")
    ready = list(ready_to_learn(student_id=world.s_a1_1.pk))
    assert [c.code for c in ready] == ["G5.A", "G5.C", "G5.E", "S.1"]
    assert ready[0].framework_id == graph.math.pk
