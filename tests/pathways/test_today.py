"""Today, the teacher's home: their students' open alerts ranked by what most needs an adult, acting on them
with htmx (and without JavaScript), and a fixed number of SQL queries whatever the section's size."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pathways import workspace_selectors
from pathways.models import PacingAlert
from profiles.models import Holiday
from tests.pathways.test_groups import ON, Workspace
from tests.world import make_student

Kind, Severity, Status = PacingAlert.Kind, PacingAlert.Severity, PacingAlert.Status


@pytest.fixture
def ws(world) -> Workspace:
    return Workspace(world, extra=4)


@pytest.fixture
def ranked(ws) -> dict[str, PacingAlert]:
    """Alerts of A1's students (and some that Today must leave out). A holiday on 11 November."""
    Holiday.objects.create(term=ws.a1.term, date=datetime.date(2026, 11, 11), name="Veterans Day")
    return {
        "inactive": ws.alert("s_x_00", Kind.INACTIVE, severity=Severity.HIGH, opened_on=datetime.date(2026, 11, 2)),
        "behind": ws.alert("s_a1_1", Kind.BEHIND_PACE, severity=Severity.HIGH, opened_on=datetime.date(2026, 11, 9)),
        "stuck_lone": ws.alert("s_x_03", Kind.STUCK, "5.C", opened_on=datetime.date(2026, 11, 2)),
        "stuck_b2": ws.alert("s_x_02", Kind.STUCK, "5.B", opened_on=datetime.date(2026, 11, 2)),
        "stuck_b1": ws.alert("s_x_01", Kind.STUCK, "5.B", opened_on=datetime.date(2026, 11, 2)),
        "older_medium": ws.alert("s_a1_2", Kind.AVOIDING, opened_on=datetime.date(2026, 10, 26)),
        "acknowledged": ws.alert(
            "s_a1_2",
            Kind.NEEDS_REVIEW,
            "4.A",
            severity=Severity.LOW,
            opened_on=datetime.date(2026, 10, 1),
            status=Status.ACKNOWLEDGED,
        ),
        # Left out: resolved, a student who left the section, a student of another section.
        "resolved": ws.alert("s_a1_1", Kind.STUCK, "5.D", severity=Severity.HIGH, status=Status.RESOLVED),
        "left": ws.alert("s_left", Kind.INACTIVE, severity=Severity.HIGH),
        "other": ws.alert("s_a2_1", Kind.INACTIVE, severity=Severity.HIGH),
    }


def test_today_ranks_by_severity_then_school_days_open_then_students_sharing(ws, world, ranked):
    today = workspace_selectors.teacher_today(world.t_a1, on=ON)
    assert [(i.rank, i.alert.pk, i.school_days_open, i.shared) for i in today] == [
        # 2 Nov → 16 Nov: 11 weekdays after the 2nd, less the holiday on the 11th.
        (1, ranked["inactive"].pk, 9, 1),
        (2, ranked["behind"].pk, 4, 1),
        # Medium: the avoiding alert is open longest; then the stuck ones of 2 Nov, the two sharing 5.B first
        # (by name), then the lone one.
        (3, ranked["older_medium"].pk, 14, 1),
        (4, ranked["stuck_b1"].pk, 9, 2),
        (5, ranked["stuck_b2"].pk, 9, 2),
        (6, ranked["stuck_lone"].pk, 9, 1),
        (7, ranked["acknowledged"].pk, 31, 1),
    ]
    assert today[3].shared_words == "2 of your students share this stuck alert on 5.B"
    assert today[0].open_words == "open 9 school days (since 2 November)"
    assert today[0].sections == ["Math A1"]
    assert workspace_selectors.teacher_today(world.t_a2, on=ON)[0].alert == ranked["other"]
    assert workspace_selectors.teacher_today(world.users["p_a"], on=ON) == []  # principals: no Today


def test_the_today_page_shows_the_ranked_alerts_suggestions_sessions_and_rosters(client, ws, world, ranked):
    for name in ("s_x_01", "s_x_02", "s_x_03"):
        ws.stuck(name, "5.A", 12)
    client.force_login(world.t_a1)
    response = client.get(reverse("teacher-home"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Today</h1>" in page
    assert [i.alert.pk for i in response.context["today"]][:2] == [ranked["inactive"].pk, ranked["behind"].pk]
    assert page.index(f'id="today-alert-{ranked["inactive"].pk}"') < page.index(
        f'id="today-alert-{ranked["behind"].pk}"'
    )
    assert "inactive of s_x_00" in page  # the plain reason
    assert "High priority" in page and "Acknowledged" in page
    assert f'action="{reverse("today-alert-acknowledge", args=[ranked["inactive"].pk])}"' in page
    assert f'hx-post="{reverse("today-alert-acknowledge", args=[ranked["inactive"].pk])}"' in page
    assert f'href="{reverse("student-profile", args=[world.users["s_x_00"].pk])}"' in page
    assert "3 students are stuck on 5.A: each has worked on it for 12 school days without mastering it." in page
    assert "Plan this session" in page
    assert [r.section.code for r in response.context["rosters"]] == ["A1"]
    for resolved in ("resolved", "left", "other"):
        assert f'id="today-alert-{ranked[resolved].pk}"' not in page


def test_today_shows_the_15_that_most_need_an_adult_and_the_rest_on_request(client, world):
    ws = Workspace(world, extra=18)
    for student in ws.students:
        ws.alert(student.username, Kind.INACTIVE)
    client.force_login(world.t_a1)
    page = client.get(reverse("teacher-home")).content.decode()
    assert page.count('class="alert-item ') == 15
    assert "The 15 that most need you, of 20 open alerts about your students." in page
    assert client.get(reverse("teacher-home"), {"alerts": "all"}).content.decode().count('class="alert-item ') == 20


def test_acknowledging_with_htmx_answers_the_refreshed_list(client, ws, world, ranked):
    client.force_login(world.t_a1)
    alert = ranked["inactive"]
    response = client.post(
        reverse("today-alert-acknowledge", args=[alert.pk]), {"note": ""}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.strip().startswith('<div id="today-status" class="today-alerts__status" role="status" hx-swap-oob')
    assert "<html" not in fragment
    assert "Acknowledged: S s_x_00's inactive alert." in fragment.replace("&#x27;", "'")
    assert f'action="{reverse("today-alert-acknowledge", args=[alert.pk])}"' not in fragment
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", world.t_a1)


def test_without_javascript_the_forms_post_and_come_back_to_today(client, ws, world, ranked):
    client.force_login(world.t_a1)
    alert = ranked["behind"]
    response = client.post(reverse("today-alert-resolve", args=[alert.pk]), {"note": "Met with the family."})
    assert response.status_code == 302
    assert response["Location"] == reverse("teacher-home") + "#today"
    page = client.get(response["Location"]).content.decode()
    assert "Resolved: S s_a1_1&#x27;s behind pace alert." in page
    assert f'id="today-alert-{alert.pk}"' not in page
    alert.refresh_from_db()
    assert (alert.status, alert.resolution_note) == ("resolved", "Met with the family.")


@pytest.mark.parametrize("htmx", [True, False])
def test_resolving_without_a_note_is_refused_and_changes_nothing(client, ws, world, ranked, htmx):
    client.force_login(world.t_a1)
    alert = ranked["inactive"]
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(reverse("today-alert-resolve", args=[alert.pk]), {"note": "  "}, headers=headers)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was changed." in page and "Say what was done: resolving an alert needs a note." in page
    assert ("<html" in page) is not htmx
    assert PacingAlert.objects.get(pk=alert.pk).status == "open"


def test_alerts_of_other_teachers_students_answer_404_and_stay_as_they_were(client, ws, world, ranked):
    for user in (world.t_a1, world.users["p_a"], world.s_a1_1):
        client.force_login(user)
        for name in ("today-alert-acknowledge", "today-alert-resolve"):
            target = ranked["other"] if user == world.t_a1 else ranked["inactive"]
            response = client.post(reverse(name, args=[target.pk]), {"note": "x"})
            assert response.status_code == 404
    assert PacingAlert.objects.get(pk=ranked["other"].pk).status == "open"
    assert PacingAlert.objects.get(pk=ranked["inactive"].pk).status == "open"


def _page_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("teacher-home"))
    assert response.status_code == 200
    return len(queries), len(response.context["today"])


def _today_queries(user) -> int:
    fresh = type(user).objects.get(pk=user.pk)  # its roles not cached yet: they are one of the queries
    with CaptureQueriesContext(connection) as queries:
        workspace_selectors.teacher_today(fresh, on=ON)
    return len(queries)


def _fill(ws: Workspace) -> None:
    """An alert of each kind for every student, stuck and ready groups, and a planned session."""
    from pathways.services import groups

    for student in ws.students:
        name = student.username
        ws.alert(name, Kind.INACTIVE, severity=Severity.HIGH)
        ws.stuck(name, "5.B", 12)
        ws.alert(name, Kind.HELD_BACK)
        ws.set_states(name, A5="ready")
    groups.session_plan(
        section_id=ws.a1.pk,
        competency_id=ws.c["5.C"].pk,
        student_ids=[s.pk for s in ws.students[:3]],
        planned_for=ON,
        by=ws.world.t_a1,
    )


def _grow(ws: Workspace, student) -> None:
    ws.students.append(student)
    ws.paths[student.username] = ws.make_path(student)
    ws.alert(student.username, Kind.INACTIVE, severity=Severity.HIGH)
    ws.stuck(student.username, "5.B", 12)
    ws.alert(student.username, Kind.HELD_BACK)
    ws.set_states(student.username, A5="ready")


def test_today_takes_the_same_queries_for_a_section_of_5_and_of_30(client, world):
    ws = Workspace(world, extra=3)
    _fill(ws)
    client.force_login(world.t_a1)
    small_page, small_alerts = _page_queries(client)
    small_today = _today_queries(world.t_a1)
    # The same section grows to 30 students, each with the same alerts.
    for n in range(25):
        _grow(ws, make_student(world, f"s_y_{n:02d}", world.schools["north-a"], 5, ws.a1))
    large_page, large_alerts = _page_queries(client)
    large_today = _today_queries(world.t_a1)
    assert (small_alerts, large_alerts) == (15, 15)  # shown; all of them are ranked
    assert len(workspace_selectors.teacher_today(world.t_a1)) == 90
    assert large_today == small_today == 6
    assert large_page == small_page
