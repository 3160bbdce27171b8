"""The pathways pages through the Django test client: a student's path and their choice, the staff view with
pacing, alerts and path editing, a section's choice limits and pending choices, and the activity library.
Every refusal asserts that nothing changed; access is checked per user of tests/world.py."""

from __future__ import annotations

import datetime
import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from mastery.models import Competency
from pathways.models import Activity, ChoiceLimits, LearningPath, PacingAlert, PathStep, StepChoice
from pathways.services import choice, pacing_compute
from tests.pathways.test_choice import Paths

ON = datetime.date(2026, 11, 2)
TEACHER_REASON = "No evidence for 52 school days (since the path started)."
STUDENT_WORDING = "We have not seen your work for a while."


@pytest.fixture
def paths(world) -> Paths:
    """tests/pathways/test_choice.py's paths (s_a1_1: M1 mastered, M2-M5 ready, M6 locked, M7 skipped), with
    pacing stored for the night of ON and one open alert about s_a1_1."""
    built = Paths(world)
    pacing_compute(student_ids=[world.s_a1_1.pk, world.s_a1_2.pk], on=ON)
    built.alert = PacingAlert.objects.create(  # type: ignore[attr-defined]
        student=world.s_a1_1,
        path=built.path,
        kind=PacingAlert.Kind.INACTIVE,
        severity=PacingAlert.Severity.HIGH,
        numbers={"last_evidence_on": None, "school_days_without_evidence": 52},
        reason=TEACHER_REASON,
        opened_on=ON,
    )
    return built


def text(response) -> str:
    """What the page says, tags removed and white space collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", response.content.decode())).strip())


def path_url(world, student="s_a1_1") -> str:
    return reverse("path-page", args=[world.users[student].pk])


def steps_of(path: LearningPath) -> list[tuple[int, str, str, bool, str]]:
    return [
        (s.order, s.competency.code, s.state, s.pinned, s.skip_reason)
        for s in PathStep.objects.filter(path=path).select_related("competency").order_by("order")
    ]


def login(client, world, username):
    client.force_login(world.users[username])
    return client


# --- the student's path ---------------------------------------------------------------------------------


def test_the_student_sees_progress_steps_by_state_what_locked_steps_wait_for_pace_and_goals(client, world, paths):
    response = login(client, world, "s_a1_1").get(path_url(world))
    assert response.status_code == 200
    page = text(response)
    assert "My path" in page
    # Progress toward the targets: M7 is skipped, so 1 of the 6 others is mastered.
    assert "1 of 6 target competencies mastered (17%)" in page
    assert 'style="width: 17%"' in response.content.decode()
    counts = re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", response.content.decode())
    assert counts == [("Mastered", "1"), ("Ready", "4"), ("In progress", "0"), ("Locked", "1"), ("Skipped", "1")]
    # Every step with its state in words; the locked one says what it waits for, the skipped one why.
    states = re.findall(
        r'class="competency-code">(M\d)</span> M\d</p>\s*<p class="step__meta">\s*'
        r'<span class="step-state step-state--(\w+)">',
        response.content.decode(),
    )
    assert states == [
        ("M1", "mastered"),
        ("M2", "ready"),
        ("M3", "ready"),
        ("M4", "ready"),
        ("M5", "ready"),
        ("M6", "locked"),
        ("M7", "skipped"),
    ]
    assert "Waiting for: M2 M2; M3 M3" in page
    assert "Skipped: Shown in class." in page
    # Pace in the student's words, not the teacher's; no pacing status, no alert.
    view = response.context["view"]
    assert view.pacing_for_student == (
        "You mastered none of the grade 5 goals in the last 20 school days, so there is no pace yet to project a "
        "finish from; the target is 1 June."
    )
    assert view.pacing_for_student in page
    assert view.pacing_for_teacher not in page
    assert "Off track" not in page
    assert TEACHER_REASON not in page and STUDENT_WORDING not in page and "alert" not in page.lower()
    assert "Goal of s_a1_1" in page
    # No editing for the student.
    assert "Change step" not in page and "Regenerate" not in page


def test_the_student_may_choose_among_the_open_steps_and_their_approved_activities(client, world, paths):
    response = login(client, world, "s_a1_1").get(path_url(world))
    page = response.content.decode()
    assert re.findall(r'<button type="submit" class="button">(Choose M\d)</button>', page) == [
        "Choose M2",
        "Choose M3",
        "Choose M4",
    ]
    assert "Your teacher opened 3 steps for you to choose from." in text(response)
    m2 = page.split(f'value="{paths.steps[2].pk}"')[1].split("</form>")[0]
    assert re.findall(r'<label for="activity-\d+-\d+">([^<]+)</label>', m2) == ["Fraction strips", "Number line game"]
    assert "Unchecked worksheet" not in page and "Broken video" not in page


def test_a_student_choice_is_saved_and_shown(client, world, paths):
    client = login(client, world, "s_a1_1")
    response = client.post(
        reverse("path-choose", args=[world.s_a1_1.pk]),
        {"step": paths.steps[2].pk, "activity": paths.activities["strips"].pk},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{path_url(world)}?path={paths.path.pk}#choice"
    choice = StepChoice.objects.get()
    assert (choice.step, choice.activity, choice.status) == (
        paths.steps[2],
        paths.activities["strips"],
        StepChoice.Status.APPROVED,
    )
    page = text(client.get(response["Location"]))
    assert "You chose M2. Get started!" in page
    assert "Your choice: M2 · M2, with “Fraction strips” ✓ Approved" in page
    assert "Your current choice" in page


def test_with_approval_required_the_choice_waits_and_the_teacher_approves_it(client, world, paths):
    paths.limits(approval=True)
    client = login(client, world, "s_a1_1")
    client.post(reverse("path-choose", args=[world.s_a1_1.pk]), {"step": paths.steps[3].pk, "activity": ""})
    choice = StepChoice.objects.get()
    assert (choice.step, choice.activity, choice.status) == (paths.steps[3], None, StepChoice.Status.PENDING)
    page = text(client.get(path_url(world)))
    assert "Your choice: M3 · M3 … Waiting for your teacher to approve it" in page
    assert "your teacher approves each choice" in page

    # A principal sees the choice but leaves the decision to the teacher.
    principal = text(login(client, world, "p_a").get(path_url(world)))
    assert "Waiting for a teacher’s approval" in principal
    assert "A teacher of S s_a1_1’s class decides." in principal

    client = login(client, world, "t_a1")
    teacher = client.get(path_url(world)).content.decode()
    assert f'action="/step-choices/{choice.pk}/decide/"' in teacher
    response = client.post(
        reverse("step-choice-decide", args=[choice.pk]), {"decision": "approve", "note": "Good pick."}
    )
    assert response.status_code == 302
    choice.refresh_from_db()
    assert (choice.status, choice.decided_by, choice.decision_note) == ("approved", world.t_a1, "Good pick.")
    student = text(login(client, world, "s_a1_1").get(path_url(world)))
    assert "✓ Approved Your teacher: “Good pick.”" in student

    # Deciding again is refused with the service's message; nothing changes.
    response = login(client, world, "t_a1").post(
        reverse("step-choice-decide", args=[choice.pk]), {"decision": "decline"}
    )
    assert response.status_code == 400
    assert "Choice: This choice is already approved." in text(response)
    choice.refresh_from_db()
    assert choice.status == "approved"


@pytest.mark.parametrize(
    ("step", "activity", "message"),
    [
        (6, None, "Step: This step is locked: it waits for M2 and M3."),
        (1, None, "Step: This step is already mastered."),
        (7, None, "Step: This step was taken out of your path by your teacher."),
        (5, None, "Step: Choose among the steps your teacher opened."),
        (2, "unchecked", "Activity: This activity is not approved."),
        (2, "darts", "Activity: This activity is not for this step's competency."),
    ],
)
def test_a_refused_choice_shows_the_message_and_saves_nothing(client, world, paths, step, activity, message):
    response = login(client, world, "s_a1_1").post(
        reverse("path-choose", args=[world.s_a1_1.pk]),
        {"step": paths.steps[step].pk, "activity": paths.activities[activity].pk if activity else ""},
    )
    assert response.status_code == 400
    page = text(response)
    assert f"Nothing was changed. {message}" in page
    assert "My path" in page  # the page itself, re-rendered
    assert not StepChoice.objects.exists()


def test_a_crafted_choice_of_another_students_step_is_refused(client, world, paths):
    response = login(client, world, "s_a1_1").post(
        reverse("path-choose", args=[world.s_a1_1.pk]), {"step": paths.other_steps[2].pk}
    )
    assert response.status_code == 400
    assert "Step: This step is not in your path." in text(response)
    for bad in ("", "abc", "-1", "999999"):
        response = client.post(reverse("path-choose", args=[world.s_a1_1.pk]), {"step": bad})
        assert response.status_code == 400
        assert "Step: This step is not in your path." in text(response)
    assert not StepChoice.objects.exists()


@pytest.mark.parametrize(
    ("username", "status"),
    [("s_a1_2", 404), ("t_b1", 404), ("g_1", 403), ("t_a1", 403), ("p_a", 403), ("admin_north", 403)],
)
def test_only_the_student_chooses_for_themself(client, world, paths, username, status):
    response = login(client, world, username).post(
        reverse("path-choose", args=[world.s_a1_1.pk]), {"step": paths.steps[2].pk}
    )
    assert response.status_code == status
    assert not StepChoice.objects.exists()


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("s_a1_1", 200),
        ("g_1", 200),
        ("t_a1", 200),
        ("p_a", 200),
        ("admin_north", 200),
        ("s_a1_2", 404),
        ("t_a2", 404),
        ("t_b1", 404),
        ("p_b", 404),
        ("admin_south", 404),
    ],
)
def test_the_path_page_is_for_those_who_see_the_student(client, world, paths, username, status):
    response = login(client, world, username).get(path_url(world))
    assert response.status_code == status
    if status == 404:
        assert "M6" not in text(response)


def test_a_path_of_another_student_cannot_be_shown_through_the_query(client, world, paths):
    client = login(client, world, "s_a1_1")
    assert client.get(path_url(world) + f"?path={paths.other_path.pk}").status_code == 404
    assert client.get(path_url(world) + "?path=x").status_code == 404
    assert client.get(path_url(world) + f"?path={paths.path.pk}").status_code == 200


def test_a_student_without_a_path(client, world, paths):
    page = text(login(client, world, "s_a2_1").get(path_url(world, "s_a2_1")))
    assert "You do not have a learning path yet. Your teacher sets it up with you." in page
    assert "Create the path" not in page


def test_the_guardian_sees_the_path_like_the_student_without_alerts_editing_or_choosing(client, world, paths):
    response = login(client, world, "g_1").get(path_url(world))
    page = text(response)
    assert "Learning path: S s_a1_1" in page
    assert "1 of 6 target competencies mastered (17%)" in page
    assert response.context["view"].pacing_for_teacher in page  # named, not "you"
    assert TEACHER_REASON not in page and STUDENT_WORDING not in page and "Open alerts" not in page
    assert "Off track" not in page
    assert "Choose M2" not in page and "Change step" not in page and "Regenerate" not in page


# --- the staff view -----------------------------------------------------------------------------------


def test_the_teacher_sees_pace_in_teacher_words_the_alerts_with_numbers_and_the_editing_forms(client, world, paths):
    response = login(client, world, "t_a1").get(path_url(world))
    page = text(response)
    view = response.context["view"]
    assert "Learning path: S s_a1_1" in page
    assert "Off track 1 competency behind" in page
    assert view.pacing_for_teacher in page
    assert view.pacing_for_student not in page
    assert "Open alerts 1" in page
    assert f"Inactive High priority Open {TEACHER_REASON}" in page
    assert "Last evidence on none School days without evidence 52" in page
    assert STUDENT_WORDING not in page
    assert page.count("Change step") == 7
    assert "Choose M2" not in page  # staff steer; they do not choose for the student
    markup = response.content.decode()
    for name, pk in (
        ("path-step-move", paths.steps[2].pk),
        ("path-step-pin", paths.steps[2].pk),
        ("path-step-skip", paths.steps[2].pk),
        ("path-step-unskip", paths.steps[7].pk),
        ("path-step-remove", paths.steps[2].pk),
        ("alert-acknowledge", paths.alert.pk),
        ("alert-resolve", paths.alert.pk),
    ):
        assert f'action="{reverse(name, args=[pk])}"' in markup
    assert f'action="{reverse("path-dates", args=[paths.path.pk])}"' in markup
    assert f'action="{reverse("path-step-add", args=[paths.path.pk])}"' in markup
    assert f'action="{reverse("path-generate", args=[world.s_a1_1.pk])}"' in markup
    # Moving the first step earlier or the last later is not offered.
    assert markup.count('value="up" class="button button--quiet" disabled') == 1
    assert markup.count('value="down" class="button button--quiet" disabled') == 1


def post_edit(client, world, name, pk, data=None):
    return client.post(reverse(name, args=[pk]), data or {})


def test_moving_a_step_within_prerequisite_order_and_a_refused_move_changes_nothing(client, world, paths):
    client = login(client, world, "t_a1")
    before = steps_of(paths.path)
    response = post_edit(client, world, "path-step-move", paths.steps[2].pk, {"direction": "up"})
    assert response.status_code == 400
    assert "Nothing was changed. Position: M2 cannot come before M1: M1 is a prerequisite of M2." in text(response)
    assert steps_of(paths.path) == before

    response = post_edit(client, world, "path-step-move", paths.steps[3].pk, {"direction": "up"})
    assert response.status_code == 302
    assert response["Location"] == f"{path_url(world)}?path={paths.path.pk}#step-{paths.steps[3].pk}"
    assert [code for _, code, *_ in steps_of(paths.path)] == ["M1", "M3", "M2", "M4", "M5", "M6", "M7"]
    post_edit(client, world, "path-step-move", paths.steps[3].pk, {"direction": "down"})
    assert steps_of(paths.path) == before

    response = post_edit(client, world, "path-step-move", paths.steps[7].pk, {"direction": "down"})
    assert response.status_code == 400
    assert "Position: Choose a position from 1 to 7." in text(response)
    assert steps_of(paths.path) == before


def test_pin_skip_unskip_and_remove_with_their_refusals(client, world, paths):
    client = login(client, world, "t_a1")
    assert post_edit(client, world, "path-step-pin", paths.steps[4].pk, {"pinned": "1"}).status_code == 302
    assert PathStep.objects.get(pk=paths.steps[4].pk).pinned
    assert "Pinned: required first" in text(client.get(path_url(world)))
    # A pinned ready step is the only one the student may choose.
    student_client = Client()
    student_client.force_login(world.s_a1_1)
    student = text(student_client.get(path_url(world)))
    assert "Choose M4" in student and "Choose M2" not in student and "Required first" in student
    assert post_edit(client, world, "path-step-pin", paths.steps[4].pk, {"pinned": "0"}).status_code == 302
    assert not PathStep.objects.get(pk=paths.steps[4].pk).pinned

    before = steps_of(paths.path)
    response = post_edit(client, world, "path-step-skip", paths.steps[3].pk, {"reason": "  "})
    assert response.status_code == 400
    assert "Nothing was changed. Why skip it: Say why the step is skipped." in text(response)
    assert steps_of(paths.path) == before
    response = post_edit(client, world, "path-step-skip", paths.steps[1].pk, {"reason": "Knows it."})
    assert response.status_code == 400
    assert "Step: M1 is mastered already; there is nothing to skip." in text(response)
    assert steps_of(paths.path) == before

    assert post_edit(client, world, "path-step-skip", paths.steps[5].pk, {"reason": "Done at camp."}).status_code == 302
    assert PathStep.objects.get(pk=paths.steps[5].pk).state == "skipped"
    assert post_edit(client, world, "path-step-unskip", paths.steps[5].pk).status_code == 302
    assert PathStep.objects.get(pk=paths.steps[5].pk).state == "ready"
    response = post_edit(client, world, "path-step-unskip", paths.steps[5].pk)
    assert response.status_code == 400
    assert "Step: This step is not skipped." in text(response)

    before = steps_of(paths.path)
    response = post_edit(client, world, "path-step-remove", paths.steps[2].pk)
    assert response.status_code == 400
    assert "Step: M2 is a prerequisite of M6 on this path; skip it with a reason instead, or remove M6 first." in text(
        response
    )
    assert steps_of(paths.path) == before
    assert post_edit(client, world, "path-step-remove", paths.steps[5].pk).status_code == 302
    assert [code for _, code, *_ in steps_of(paths.path)] == ["M1", "M2", "M3", "M4", "M6", "M7"]


def test_dates_add_and_regenerate_with_their_refusals(client, world, paths):
    client = login(client, world, "t_a1")
    response = post_edit(
        client, world, "path-dates", paths.path.pk, {"start_date": "2026-09-01", "target_date": "2026-08-01"}
    )
    assert response.status_code == 400
    assert (
        "Nothing was changed. Target date: The target date (2026-08-01) must come after the start date (2026-09-01)."
        in text(response)
    )
    response = post_edit(client, world, "path-dates", paths.path.pk, {"start_date": "", "target_date": "2027-05-01"})
    assert response.status_code == 400
    assert "Start date: This field is required." in text(response)
    paths.path.refresh_from_db()
    assert (paths.path.start_date, paths.path.target_date) == (datetime.date(2026, 9, 1), datetime.date(2027, 6, 1))
    response = post_edit(
        client, world, "path-dates", paths.path.pk, {"start_date": "2026-09-07", "target_date": "2027-05-28"}
    )
    assert response.status_code == 302
    paths.path.refresh_from_db()
    assert (paths.path.start_date, paths.path.target_date) == (datetime.date(2026, 9, 7), datetime.date(2027, 5, 28))

    before = steps_of(paths.path)
    response = post_edit(client, world, "path-step-add", paths.path.pk, {"competency": paths.m[3].pk})
    assert response.status_code == 400
    assert "Competency: M3 is already on this path." in text(response)
    response = post_edit(client, world, "path-step-add", paths.path.pk, {"competency": ""})
    assert response.status_code == 400
    assert "Competency: Choose a competency to add." in text(response)
    assert steps_of(paths.path) == before
    m8 = Competency.objects.create(framework=paths.math, code="M8", statement="M8", grade_level=6, sort_order=8)
    page = client.get(path_url(world)).content.decode()
    assert f'<option value="{m8.pk}">M8 · M8</option>' in page
    assert post_edit(client, world, "path-step-add", paths.path.pk, {"competency": m8.pk}).status_code == 302
    assert steps_of(paths.path)[-1][:2] == (8, "M8")

    response = client.post(reverse("path-generate", args=[world.s_a1_1.pk]), {"path": paths.path.pk})
    assert response.status_code == 302
    codes = [code for _, code, *_ in steps_of(paths.path)]
    assert sorted(codes) == ["M1", "M2", "M3", "M4", "M5", "M6", "M7", "M8"]  # the teacher's M8 kept
    assert PathStep.objects.get(path=paths.path, competency=paths.m[7]).skip_reason == "Shown in class."


def test_a_teacher_creates_a_missing_path(client, world, paths):
    client = login(client, world, "t_a2")
    page = text(client.get(path_url(world, "s_a2_1")))
    assert "S s_a2_1 has no learning path yet." in page
    response = client.post(reverse("path-generate", args=[world.s_a2_1.pk]))
    # The curriculum has no grade-6 competencies in a framework covering grade 6 but M1-M7 (grade 5):
    # the service's refusal is shown and nothing is created.
    assert response.status_code == 400
    assert "Targets: There are no competencies to target: grade 6 of this framework has none." in text(response)
    assert not LearningPath.objects.filter(student=world.s_a2_1).exists()
    Competency.objects.create(framework=paths.math, code="R6", statement="Ratios", grade_level=6, sort_order=9)
    response = client.post(reverse("path-generate", args=[world.s_a2_1.pk]))
    made = LearningPath.objects.get(student=world.s_a2_1)
    assert response.status_code == 302
    assert response["Location"] == f"{path_url(world, 's_a2_1')}?path={made.pk}"
    assert steps_of(made) == [(1, "R6", "ready", False, "")]


@pytest.mark.parametrize(("username", "status"), [("s_a1_1", 403), ("g_1", 403), ("t_a2", 404), ("admin_south", 404)])
def test_only_staff_who_see_the_student_edit_the_path(client, world, paths, username, status):
    client = login(client, world, username)
    before = steps_of(paths.path)
    dates = (paths.path.start_date, paths.path.target_date)
    responses = [
        post_edit(client, world, "path-step-move", paths.steps[3].pk, {"direction": "up"}),
        post_edit(client, world, "path-step-pin", paths.steps[3].pk, {"pinned": "1"}),
        post_edit(client, world, "path-step-skip", paths.steps[3].pk, {"reason": "x"}),
        post_edit(client, world, "path-step-unskip", paths.steps[7].pk),
        post_edit(client, world, "path-step-remove", paths.steps[5].pk),
        post_edit(
            client, world, "path-dates", paths.path.pk, {"start_date": "2026-09-02", "target_date": "2027-05-01"}
        ),
        post_edit(client, world, "path-step-add", paths.path.pk, {"competency": paths.m[1].pk}),
        client.post(reverse("path-generate", args=[world.s_a1_1.pk]), {"path": paths.path.pk}),
    ]
    assert [r.status_code for r in responses] == [status] * len(responses)
    paths.path.refresh_from_db()
    assert steps_of(paths.path) == before
    assert (paths.path.start_date, paths.path.target_date) == dates


# --- alerts --------------------------------------------------------------------------------------------


def test_a_teacher_acknowledges_and_resolves_an_alert(client, world, paths):
    client = login(client, world, "t_a1")
    alert = paths.alert
    response = client.post(reverse("alert-acknowledge", args=[alert.pk]), {"note": "Talked with her today."})
    assert response.status_code == 302
    assert response["Location"] == f"{path_url(world)}?path={paths.path.pk}#alerts"
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.resolution_note) == (
        "acknowledged",
        world.t_a1,
        "Talked with her today.",
    )
    page = text(client.get(response["Location"]))
    assert "Inactive High priority Acknowledged" in page
    assert "acknowledged by T t_a1" in page and "note: “Talked with her today.”" in page
    assert "Acknowledge the inactive alert" not in page  # only an open alert is acknowledged

    response = client.post(reverse("alert-resolve", args=[alert.pk]), {"note": " "})
    assert response.status_code == 400
    assert "Nothing was changed. Note: Say what was done: resolving an alert needs a note." in text(response)
    alert.refresh_from_db()
    assert alert.status == "acknowledged"

    assert client.post(reverse("alert-resolve", args=[alert.pk]), {"note": "Two catch-up sessions."}).status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.resolution_note) == ("resolved", "Two catch-up sessions.")
    page = text(client.get(path_url(world)))
    assert "Open alerts 0" in page and TEACHER_REASON not in page

    response = client.post(reverse("alert-acknowledge", args=[alert.pk]))
    assert response.status_code == 400
    assert "Alert: This alert is resolved already." in text(response)


@pytest.mark.parametrize("username", ["s_a1_1", "g_1", "s_a1_2", "t_a2", "t_b1", "admin_south"])
def test_only_staff_who_see_the_student_act_on_alerts(client, world, paths, username):
    client = login(client, world, username)
    assert client.post(reverse("alert-acknowledge", args=[paths.alert.pk])).status_code == 404
    assert client.post(reverse("alert-resolve", args=[paths.alert.pk]), {"note": "x"}).status_code == 404
    paths.alert.refresh_from_db()
    assert paths.alert.status == "open"


# --- the profile page's path card -----------------------------------------------------------------------


def test_the_profile_page_links_to_the_path_and_the_summary_shows_progress(client, world, paths):
    client = login(client, world, "s_a1_1")
    page = client.get(reverse("student-profile", args=[world.s_a1_1.pk])).content.decode()
    assert f'hx-get="/students/{world.s_a1_1.pk}/path/summary/"' in page
    assert f'<a class="button" href="/students/{world.s_a1_1.pk}/path/">Open my path</a>' in page
    summary = text(client.get(reverse("path-summary", args=[world.s_a1_1.pk])))
    assert summary.startswith("My path Math · 2026-27 · target date 1 June 2027 1 of 6 target competencies mastered")
    assert "4 steps ready to learn · 0 in progress" in summary
    assert "alert" not in summary
    teacher = text(login(client, world, "t_a1").get(reverse("path-summary", args=[world.s_a1_1.pk])))
    assert "Learning path" in teacher and "1 open alert about pacing" in teacher


# --- a section's limits and pending choices ----------------------------------------------------------


def test_the_teacher_sets_the_sections_limits_and_a_refusal_changes_nothing(client, world, paths):
    client = login(client, world, "t_a1")
    section = world.sections["A1"]
    url = reverse("section-choices", args=[section.pk])
    assert f'href="{url}"' in client.get(reverse("section-detail", args=[section.pk])).content.decode()
    page = text(client.get(url))
    assert "Not set for this class yet: the defaults apply (3 ready steps open" in page
    limits_url = reverse("section-choice-limits", args=[section.pk])
    for data, message in (
        ({"open_ready_steps": "0"}, "Ready steps open to choose from: Open between 1 and 20 ready steps."),
        ({"open_ready_steps": "21"}, "Ready steps open to choose from: Open between 1 and 20 ready steps."),
        ({"open_ready_steps": "two"}, "Ready steps open to choose from: A whole number is required."),
        ({"open_ready_steps": "2", "required_first": "999999"}, "Required first: Select a valid choice."),
    ):
        response = client.post(limits_url, data)
        assert response.status_code == 400
        assert f"Nothing was changed. {message}" in text(response)
        assert not ChoiceLimits.objects.exists()
    response = client.post(
        limits_url, {"open_ready_steps": "2", "required_first": [paths.m[4].pk], "approval_required": "on"}
    )
    assert response.status_code == 302
    limits = ChoiceLimits.objects.get()
    assert (limits.section, limits.open_ready_steps, limits.approval_required, limits.updated_by) == (
        section,
        2,
        True,
        world.t_a1,
    )
    assert [c.code for c in limits.required_first.all()] == ["M4"]
    page = client.get(url).content.decode()
    assert 'value="2"' in page and f'<option value="{paths.m[4].pk}" selected>M4 · M4</option>' in page
    # The student now has M4 only (required first), and each choice waits for approval.
    student = text(login(client, world, "s_a1_1").get(path_url(world)))
    assert "Your teacher opened 1 step for you to choose from; your teacher approves each choice." in student
    assert "Choose M4" in student and "Choose M2" not in student


def test_the_sections_pending_choices_are_decided_from_its_page(client, world, paths):
    paths.limits(approval=True)
    first = paths.choose(2, "strips")
    other = choice.step_choose(student_user=world.s_a1_2, step_id=paths.other_steps[2].pk)
    client = login(client, world, "t_a1")
    url = reverse("section-choices", args=[world.sections["A1"].pk])
    page = text(client.get(url))
    assert "Choices waiting for approval 2" in page
    assert re.findall(r"(S s_a1_\d) · chose", page) == ["S s_a1_1", "S s_a1_2"]
    assert "M2 M2, with “Fraction strips”" in page
    response = client.post(
        reverse("step-choice-decide", args=[first.pk]),
        {"decision": "decline", "note": "Finish M3 first.", "section": world.sections["A1"].pk},
    )
    assert response.status_code == 302 and response["Location"] == url
    first.refresh_from_db()
    assert (first.status, first.decision_note) == ("declined", "Finish M3 first.")
    assert "Choices waiting for approval 1" in text(client.get(url))
    student = text(login(client, world, "s_a1_1").get(path_url(world)))
    assert "Your teacher declined your choice of M2: “Finish M3 first.”" in student
    # A refused decision from the section page re-renders it with the message.
    response = login(client, world, "t_a1").post(
        reverse("step-choice-decide", args=[first.pk]), {"decision": "approve", "section": world.sections["A1"].pk}
    )
    assert response.status_code == 400
    assert "Choice: This choice is already declined." in text(response)
    assert "Choices waiting for approval 1" in text(response)
    other.refresh_from_db()
    assert other.status == "pending"


@pytest.mark.parametrize(
    ("username", "status"),
    [("t_a1", 200), ("p_a", 200), ("admin_north", 200), ("s_a1_1", 404), ("g_1", 404), ("t_a2", 404), ("p_b", 404)],
)
def test_the_limits_page_is_for_staff_who_set_the_sections_limits(client, world, paths, username, status):
    client = login(client, world, username)
    section = world.sections["A1"]
    assert client.get(reverse("section-choices", args=[section.pk])).status_code == status
    response = client.post(reverse("section-choice-limits", args=[section.pk]), {"open_ready_steps": "5"})
    assert response.status_code == (302 if status == 200 else 404)
    assert ChoiceLimits.objects.exists() == (status == 200)


def test_only_the_students_teacher_decides_from_the_section_page(client, world, paths):
    paths.limits(approval=True)
    choice = paths.choose(2)
    page = text(login(client, world, "p_a").get(reverse("section-choices", args=[world.sections["A1"].pk])))
    assert "The student’s teacher decides." in page
    response = client.post(reverse("step-choice-decide", args=[choice.pk]), {"decision": "approve"})
    assert response.status_code == 403
    choice.refresh_from_db()
    assert choice.status == "pending"
    response = login(client, world, "g_1").post(
        reverse("step-choice-decide", args=[choice.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
    response = login(client, world, "t_b1").post(
        reverse("step-choice-decide", args=[choice.pk]), {"decision": "approve"}
    )
    assert response.status_code == 404
    choice.refresh_from_db()
    assert choice.status == "pending"


# --- activities --------------------------------------------------------------------------------------------


def test_staff_add_an_activity_and_review_pending_ones(client, world, paths):
    client = login(client, world, "t_a1")
    url = reverse("activity-list")
    page = text(client.get(url))
    assert "Waiting for review 1" in page and "Unchecked worksheet" in page
    assert "Reviewed 4" in page
    before = Activity.objects.count()
    response = client.post(reverse("activity-create"), {"title": "Ratio tables", "competencies": []})
    assert response.status_code == 400
    assert "Nothing was changed. Competencies: Link the activity to at least one competency." in text(response)
    response = client.post(reverse("activity-create"), {"title": " ", "competencies": [paths.m[2].pk]})
    assert response.status_code == 400
    assert "Title: Give the activity a title." in text(response)
    response = client.post(
        reverse("activity-create"), {"title": "Ratio tables", "url": "not a link", "competencies": [paths.m[2].pk]}
    )
    assert response.status_code == 400
    assert "Link: Enter a valid URL." in text(response)
    assert Activity.objects.count() == before

    response = client.post(
        reverse("activity-create"),
        {
            "title": "Ratio tables",
            "description": "Fill in the tables.",
            "url": "https://example.org/ratio",
            "competencies": [paths.m[2].pk, paths.m[3].pk],
        },
    )
    assert response.status_code == 302
    added = Activity.objects.get(title="Ratio tables")
    assert (added.review_status, added.url, sorted(c.code for c in added.competencies.all())) == (
        "pending",
        "https://example.org/ratio",
        ["M2", "M3"],
    )

    unchecked = paths.activities["unchecked"]
    response = client.post(reverse("activity-review", args=[unchecked.pk]), {"status": "rejected", "note": ""})
    assert response.status_code == 400
    assert "Note: Say why the activity is rejected, so its author can improve it." in text(response)
    unchecked.refresh_from_db()
    assert unchecked.review_status == "pending"
    response = client.post(reverse("activity-review", args=[added.pk]), {"status": "approved"})
    assert response.status_code == 302
    added.refresh_from_db()
    assert (added.review_status, added.reviewed_by) == ("approved", world.t_a1)
    # Approved: offered to the student for M2.
    student = login(client, world, "s_a1_1").get(path_url(world)).content.decode()
    m2 = student.split(f'value="{paths.steps[2].pk}"')[1].split("</form>")[0]
    assert "Ratio tables" in m2


@pytest.mark.parametrize("username", ["s_a1_1", "g_1"])
def test_students_and_guardians_have_no_activity_library(client, world, paths, username):
    client = login(client, world, username)
    before = Activity.objects.count()
    assert client.get(reverse("activity-list")).status_code == 404
    assert client.post(reverse("activity-create"), {"title": "x", "competencies": [paths.m[2].pk]}).status_code == 404
    unchecked = paths.activities["unchecked"]
    assert client.post(reverse("activity-review", args=[unchecked.pk]), {"status": "approved"}).status_code == 404
    unchecked.refresh_from_db()
    assert (Activity.objects.count(), unchecked.review_status) == (before, "pending")
