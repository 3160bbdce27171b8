"""`manage.py mastery_fit` and policy versions: BKT fitted to stored evidence, kept only when it helps."""

from __future__ import annotations

import datetime
import threading
from io import StringIO

import numpy as np
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection

from mastery import bkt_fit
from mastery.bkt_fit import FitParams
from mastery.models import Competency, Evidence, Framework, MasteryPolicy
from mastery.selectors import evidence_responses_for_fit
from mastery.services.policies import HOLDOUT_FOLDS, bkt_policy_fit, policy_version_create
from profiles.models import User

START = datetime.datetime(2026, 9, 1, 8, 0, tzinfo=datetime.UTC)
DEFAULTS = settings.PLPLATFORM["BKT_DEFAULTS"]
# Far from the defaults, so a fit must move.
TRUTH_A = FitParams(p_init=0.6, p_learn=0.3, p_guess=0.1, p_slip=0.05)
# Already in force for C (policy v1), and how C's held-out students answer; C's other students answer
# as OTHER_C, so a fit on them predicts the held-out students worse than what is in force.
TRUTH_C = FitParams(p_init=0.4, p_learn=0.1, p_guess=0.25, p_slip=0.15)
OTHER_C = FitParams(p_init=0.05, p_learn=0.02, p_guess=0.3, p_slip=0.2)


def make_students(n: int) -> list[User]:
    User.objects.bulk_create([User(username=f"learner{i:04d}") for i in range(n)])
    return list(User.objects.filter(username__startswith="learner").order_by("username"))


def evidence_from(competency: Competency, truth: FitParams, students: list[User], length: int, seed: int):
    """Scored evidence drawn from BKT `truth`: scores and ratings mixed, plus completions that must not
    count; stored in a shuffled order so that only observed_at gives the order."""
    codes, correct = bkt_fit.simulate(truth, n_students=len(students), length=length, seed=seed)
    rows = []
    position = 0
    for index, (code, right) in enumerate(zip(codes.tolist(), correct.tolist(), strict=True)):
        position = 0 if index == 0 or codes[index - 1] != code else position + 1
        observed_at = START + datetime.timedelta(days=position, minutes=code)
        common = {"student": students[code], "competency": competency, "observed_at": observed_at}
        if position % 3 == 2:
            rows.append(Evidence(**common, kind=Evidence.Kind.RATING, rating=(3 + position % 2) if right else 2))
        else:
            rows.append(
                Evidence(**common, kind=Evidence.Kind.SCORE, score=(0.5 if position % 2 else 0.9) if right else 0.4)
            )
        if position == 1:
            rows.append(
                Evidence(**{**common, "observed_at": observed_at + datetime.timedelta(hours=1)}, kind="completion")
            )
    np.random.default_rng(seed).shuffle(rows)
    Evidence.objects.bulk_create(rows)
    return codes, correct


@pytest.fixture
def school_data(db):
    framework = Framework.objects.create(name="Math", subject="Mathematics", grade_low=3, grade_high=5)
    comps = {
        code: Competency.objects.create(framework=framework, code=code, statement=f"Skill {code}", grade_level=4)
        for code in "ABCD"
    }
    Competency.objects.create(framework=framework, code="S", statement="Strand", grade_level=4, assessable=False)
    students = make_students(400)
    evidence_from(comps["A"], TRUTH_A, students, length=8, seed=1)
    evidence_from(comps["B"], TRUTH_A, students[:30], length=5, seed=2)  # 30 students: too few
    held_out = bkt_fit.student_folds(len(students), HOLDOUT_FOLDS, seed=0) == 0  # the fit's split, seed 0
    evidence_from(comps["C"], TRUTH_C, [s for s, held in zip(students[:300], held_out, strict=False) if held], 6, 3)
    evidence_from(comps["C"], OTHER_C, [s for s, held in zip(students[:300], held_out, strict=False) if not held], 6, 4)
    v1 = policy_version_create(
        framework=framework,
        method="bkt",
        parameters={"per_competency": {str(comps["C"].pk): TRUTH_C.as_dict()}},
        note="C from last year's fit",
        created_by=None,
    )
    return framework, comps, v1


def test_fit_keeps_what_beats_the_parameters_in_force_and_stores_a_new_version(school_data):
    framework, comps, _ = school_data
    report = bkt_policy_fit(framework=framework, seed=0)
    by_code = {item.code: item for item in report.competencies}
    assert [item.code for item in report.competencies] == ["A", "B", "C"]
    assert report.without_evidence == 1  # D (the strand S is not assessable)

    a = by_code["A"]
    assert (a.status, a.students, a.students_enough, a.responses) == ("kept", 400, 400, 3200)
    assert a.current == {**DEFAULTS}
    for name, value in TRUTH_A.as_dict().items():
        assert a.fitted[name] == pytest.approx(value, abs=0.04), name
    assert a.holdout_ll_fitted > a.holdout_ll_current

    b = by_code["B"]
    assert (b.status, b.students, b.students_enough, b.fitted) == ("too_little_data", 30, 30, None)
    assert b.reason == "30 students with at least 3 responses; 50 needed"

    c = by_code["C"]
    assert (c.status, c.students_enough, c.current) == ("rejected", 300, TRUTH_C.as_dict())
    assert c.holdout_ll_fitted <= c.holdout_ll_current

    policy = report.policy
    assert policy is not None and policy.version == 2 and policy.method == "bkt"
    assert policy.parameters == {
        **DEFAULTS,
        "per_competency": {str(comps["C"].pk): TRUTH_C.as_dict(), str(comps["A"].pk): a.fitted},
    }
    assert policy.note.startswith("BKT fitted by mastery_fit to ")
    assert "new parameters for 1 competency (A)" in policy.note
    assert MasteryPolicy.objects.filter(framework=framework).count() == 2

    # Again on the same evidence: nothing beats what is now in force, nothing is stored.
    again = bkt_policy_fit(framework=framework, seed=0)
    assert again.policy is None and again.changed == []
    assert MasteryPolicy.objects.filter(framework=framework).count() == 2


def test_command_report(school_data):
    framework, _, _ = school_data
    out = StringIO()
    call_command("mastery_fit", "--framework", "Math", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"Framework Math (id {framework.pk}), policy v1"
    assert lines[1].startswith("  BKT without forgetting, seed 0; fitted where at least 50 students have at least 3")
    assert lines[2] == "  A: fitted, kept — 400 of 400 students with enough responses, 3200 responses"
    assert lines[3].startswith("      held-out log-likelihood (")
    assert lines[3].endswith("— the fit beats the parameters in force on held-out students")
    assert lines[4].startswith("      P(L0) 0.25 → 0.")
    assert lines[5:7] == [
        "  B: too little data — 30 of 30 students with enough responses, 150 responses",
        "      30 students with at least 3 responses; 50 needed; keeps P(L0) 0.25, learn 0.15, guess 0.2, slip 0.1, "
        "forget 0",
    ]
    assert lines[7] == "  C: fitted, rejected — 300 of 300 students with enough responses, 1800 responses"
    assert lines[8].endswith("— the parameters in force predict held-out students at least as well")
    assert lines[9].startswith("      keeps P(L0) 0.4, learn 0.1, guess 0.25, slip 0.15, forget 0 (fit was P(L0) 0.")
    assert lines[10:] == [
        "  1 other assessable competency has no scored evidence.",
        "Stored policy v2: new parameters for 1 competency.",
    ]

    out = StringIO()
    call_command("mastery_fit", "--framework", str(framework.pk), stdout=out)
    assert out.getvalue().splitlines()[-1] == "Nothing stored: no competency's parameters changed."
    assert MasteryPolicy.objects.filter(framework=framework).count() == 2


def test_scores_round_at_one_half_ratings_meet_at_three_completions_do_not_count(db):
    framework = Framework.objects.create(name="F", subject="S", grade_low=3, grade_high=5)
    comp = Competency.objects.create(framework=framework, code="X", statement="X", grade_level=4)
    other = Competency.objects.create(
        framework=Framework.objects.create(name="G", subject="S", grade_low=3, grade_high=5),
        code="Y",
        statement="Y",
        grade_level=4,
    )
    (student,) = make_students(1)
    values = [
        ("score", 0.49, None),
        ("score", 0.5, None),
        ("rating", None, 2),
        ("rating", None, 3),
        ("completion", None, None),
    ]
    # Stored newest first: the selector orders by observed_at.
    for hour, (kind, score, rating) in reversed(list(enumerate(values))):
        Evidence.objects.create(
            student=student, competency=comp, kind=kind, score=score, rating=rating,
            observed_at=START + datetime.timedelta(hours=hour),
        )  # fmt: skip
    Evidence.objects.create(student=student, competency=other, kind="score", score=1.0, observed_at=START)
    # Withdrawn by its tool (xAPI voiding): not a response to learn from.
    Evidence.objects.create(
        student=student, competency=comp, kind="score", score=1.0, observed_at=START, voided_at=START
    )
    assert list(evidence_responses_for_fit(framework_id=framework.pk)) == [
        (student.pk, comp.pk, 0),
        (student.pk, comp.pk, 1),
        (student.pk, comp.pk, 0),
        (student.pk, comp.pk, 1),
    ]


def test_a_rubric_framework_is_not_fitted(db):
    framework = Framework.objects.create(name="Art", subject="Arts", grade_low=3, grade_high=5)
    policy_version_create(framework=framework, method="decaying_average", parameters={}, note="", created_by=None)
    report = bkt_policy_fit(framework=framework)
    assert report.policy is None and report.competencies == []
    assert report.skipped.startswith("the framework's policy v1 uses Decaying average, not BKT")
    assert MasteryPolicy.objects.filter(framework=framework).count() == 1


def test_a_framework_without_evidence_stores_nothing_and_unknown_frameworks_are_refused(db):
    framework = Framework.objects.create(name="Empty", subject="Math", grade_low=3, grade_high=5)
    out = StringIO()
    call_command("mastery_fit", stdout=out)
    assert out.getvalue().splitlines()[0] == f"Framework Empty (id {framework.pk}), no policy yet (settings defaults)"
    assert out.getvalue().splitlines()[-1] == "Nothing stored: no competency's parameters changed."
    assert not MasteryPolicy.objects.exists()
    with pytest.raises(CommandError, match="No framework with id or name 'Nope'"):
        call_command("mastery_fit", "--framework", "Nope")
    Framework.objects.create(name="Empty", subject="Science", grade_low=3, grade_high=5)
    with pytest.raises(CommandError, match="2 frameworks are named 'Empty': give the id"):
        call_command("mastery_fit", "--framework", "Empty")


def test_policy_versions_count_up_and_invalid_policies_store_nothing(db):
    framework = Framework.objects.create(name="F", subject="S", grade_low=3, grade_high=5)
    first = policy_version_create(framework=framework, method="bkt", parameters={}, note="a", created_by=None)
    second = policy_version_create(
        framework=framework, method="n_times", parameters={}, note="b", created_by=User.objects.create(username="t")
    )
    assert (first.version, second.version, second.created_by.username) == (1, 2, "t")
    bad = [
        ("magic", {}, "Unknown mastery method 'magic'."),
        ("bkt", {"p_slip": 1.5}, "p_slip must be a probability in [0, 1], not 1.5."),
        ("bkt", {"per_competency": {"7": {"p_guess": "high"}}}, "per_competency[7].p_guess must be a probability"),
        ("bkt", {"per_competency": [1]}, "per_competency must be an object."),
    ]
    for method, parameters, message in bad:
        with pytest.raises(ValidationError) as refused:
            policy_version_create(framework=framework, method=method, parameters=parameters, note="", created_by=None)
        assert message in str(refused.value)
    assert list(MasteryPolicy.objects.filter(framework=framework).values_list("version", flat=True)) == [2, 1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_versions_get_consecutive_numbers():
    framework = Framework.objects.create(name="F", subject="S", grade_low=3, grade_high=5)
    errors: list[Exception] = []
    barrier = threading.Barrier(6)

    def create() -> None:
        try:
            barrier.wait()
            policy_version_create(framework=framework, method="bkt", parameters={}, note="", created_by=None)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(MasteryPolicy.objects.filter(framework=framework).values_list("version", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
