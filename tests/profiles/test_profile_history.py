"""The learner profile's change history (who changed which field, from what to what) and the profile page's
cards loaded from the higher apps: mastery (overrides), evidence timeline, open alerts (staff only)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from mastery.models import Competency, Evidence, Framework, MasteryState
from pathways.models import LearningPath, PacingAlert
from profiles.models import LearnerProfile, LearnerProfileChange
from profiles.selectors import PROFILE_HISTORY_SHOWN
from profiles.services import learner_profile_update

UTC = datetime.UTC


def history(profile: LearnerProfile) -> list[tuple]:
    return [
        (c.field, c.old, c.new, c.changed_by.username if c.changed_by else None)
        for c in LearnerProfileChange.objects.filter(profile=profile).order_by("id")
    ]


# --- the history ---------------------------------------------------------------------------------------


def test_the_edit_service_records_each_changed_field_with_who_changed_it(world):
    profile = world.s_a1_1.learner_profile
    learner_profile_update(
        profile=profile,
        changes={"accommodations": ["extended time", "read aloud"], "strengths": ["fractions"], "notes": "Likes maps"},
        changed_by=world.t_a1,
    )
    # strengths was given with its stored value: no history row for it.
    assert history(profile) == [
        ("accommodations", ["extended time"], ["extended time", "read aloud"], "t_a1"),
        ("notes", "", "Likes maps", "t_a1"),
    ]
    learner_profile_update(profile=profile, changes={"notes": "Likes maps"}, changed_by=world.p_a)
    assert len(history(profile)) == 2  # nothing changed, nothing written


def test_a_refused_edit_writes_no_history(world):
    profile = world.s_a1_1.learner_profile
    with pytest.raises(ValidationError):  # a line over 200 characters
        learner_profile_update(profile=profile, changes={"needs": ["x" * 201]}, changed_by=world.t_a1)
    assert history(profile) == []


def test_the_edit_page_writes_history_and_the_profile_shows_it(client, world):
    client.force_login(world.t_a1)
    student = world.s_a1_1
    response = client.post(
        reverse("student-profile-edit", args=[student.pk]),
        {
            "strengths": "fractions",
            "needs": "",
            "interests": "soccer\nchess",
            "motivations": "",
            "accommodations": "",
            "notes": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert history(student.learner_profile) == [
        ("interests", ["soccer"], ["soccer", "chess"], "t_a1"),
        ("accommodations", ["extended time"], [], "t_a1"),
    ]
    page = client.get(reverse("student-profile", args=[student.pk])).content.decode()
    assert "Change history" in page
    assert "Added: chess" in page and "Removed: extended time" in page
    assert "T t_a1" in page


def test_the_profile_page_shows_the_latest_changes_only_and_says_so(client, world):
    profile = world.s_a1_1.learner_profile
    for number in range(PROFILE_HISTORY_SHOWN + 1):
        learner_profile_update(profile=profile, changes={"notes": f"note {number}"}, changed_by=world.t_a1)
    client.force_login(world.t_a1)
    response = client.get(reverse("student-profile", args=[world.s_a1_1.pk]))
    assert [item.change.new for item in response.context["history"]] == [
        f"note {number}" for number in range(PROFILE_HISTORY_SHOWN, 0, -1)
    ]
    page = response.content.decode()
    assert f'<span class="count">{PROFILE_HISTORY_SHOWN}+</span>' in page
    assert f"The latest {PROFILE_HISTORY_SHOWN} changes." in page


def test_the_api_edit_records_who_changed_it(client, world):
    client.force_login(world.p_a)
    response = client.patch(
        reverse("api-v1:learner-profile-detail", kwargs={"student": world.s_a1_1.pk}),
        {"motivations": ["praise"]},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert history(world.s_a1_1.learner_profile) == [("motivations", [], ["praise"], "p_a")]


# --- the cards the profile page loads with htmx ---------------------------------------------------------


@pytest.fixture
def record(world):
    framework = Framework.objects.create(name="F", subject="Mathematics", grade_low=3, grade_high=8)
    c1 = Competency.objects.create(framework=framework, code="5.A.1", statement="Add", grade_level=5)
    c2 = Competency.objects.create(framework=framework, code="5.A.2", statement="Subtract", grade_level=5)
    student = world.s_a1_1
    Evidence.objects.bulk_create(
        Evidence(
            student=student,
            competency=c1 if n % 2 else c2,
            kind="rating" if n % 2 else "score",
            rating=3 if n % 2 else None,
            score=None if n % 2 else 0.5,
            source="teacher-rating" if n % 2 else "quiz-app",
            recorded_by=world.t_a1 if n % 2 else None,
            note="Exit ticket" if n == 25 else "",
            observed_at=datetime.datetime(2026, 10, 1, tzinfo=UTC) + datetime.timedelta(hours=n),
        )
        for n in range(1, 26)
    )
    MasteryState.objects.create(
        student=student,
        competency=c2,
        status="in_progress",
        override_status="mastered",
        override_note="Showed it in class",
        override_by=world.t_a1,
        override_at=datetime.datetime(2026, 10, 3, tzinfo=UTC),
    )
    path = LearningPath.objects.create(
        student=student,
        framework=framework,
        term=world.sections["A1"].term,
        start_date=datetime.date(2026, 8, 24),
        target_date=datetime.date(2027, 6, 11),
    )
    PacingAlert.objects.create(
        student=student,
        kind=PacingAlert.Kind.INACTIVE,
        path=path,
        reason="No evidence for 12 school days.",
        opened_on=datetime.date(2026, 11, 3),
    )
    return {"c1": c1, "c2": c2}


def test_the_profile_page_loads_its_cards_with_htmx_and_links_them_without_js(client, world, record):
    student = world.s_a1_1
    for username, sees_alerts in (("t_a1", True), ("p_a", True), ("s_a1_1", False), ("g_1", False)):
        client.force_login(world.users[username])
        page = client.get(reverse("student-profile", args=[student.pk])).content.decode()
        timeline = reverse("evidence-timeline", args=[student.pk])
        assert f'hx-get="{timeline}" hx-trigger="load"' in page
        assert f'href="{timeline}"' in page
        assert (f'hx-get="{reverse("student-alerts", args=[student.pk])}"' in page) is sees_alerts, username


def test_the_timeline_is_newest_first_with_source_kind_value_and_author_and_shows_more(client, world, record):
    client.force_login(world.g_1)  # whoever sees the student sees their evidence
    url = reverse("evidence-timeline", args=[world.s_a1_1.pk])
    first = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in first
    assert first.count('class="timeline__item"') == 20
    newest = first[first.index('class="timeline__item"') :]
    newest = newest[: newest.index("</li>")]
    for text in ("5.A.1", "Teacher rating (1–4)", "3 of 4", "teacher-rating", "T t_a1", "Note: Exit ticket"):
        assert text in newest
    assert "quiz-app" in first and "50%" in first and "not named (imported)" in first
    assert f'hx-get="{url}?page=2"' in first and f'href="{url}?page=2"' in first
    more = client.get(url, {"page": 2}, headers={"HX-Request": "true"}).content.decode()
    assert more.count('class="timeline__item"') == 5
    assert "<h2" not in more and "Show more" not in more
    # Without JS: a page of its own, with links to older and newer evidence.
    page = client.get(url, {"page": 2}).content.decode()
    assert "<html" in page and 'href="?page=1"' in page and "Older evidence" not in page


def test_the_alerts_card_is_for_staff_who_see_the_student(client, world, record):
    url = reverse("student-alerts", args=[world.s_a1_1.pk])
    for username, status in (("t_a1", 200), ("p_a", 200), ("s_a1_1", 404), ("g_1", 404), ("t_a2", 404)):
        client.force_login(world.users[username])
        response = client.get(url)
        assert response.status_code == status, username
        if status == 200:
            assert "No evidence for 12 school days." in response.content.decode()


def test_the_mastery_card_lists_overrides_with_their_note_and_author(client, world, record):
    client.force_login(world.s_a1_1)
    card = client.get(reverse("mastery-summary", args=[world.s_a1_1.pk])).content.decode()
    assert "Teacher overrides" in card
    assert "5.A.2" in card and "Showed it in class" in card and "T t_a1" in card
