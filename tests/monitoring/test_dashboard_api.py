"""The equity dashboard's API (monitoring/api.py): the pages' figures as JSON, on the rows of test_dashboard.py.

A suppressed cell is exactly {"dimension", "value", "suppressed": true}; an access-suppressed one has no access or
below-grade figure; no stored count but the number of students of a shown cell ever appears.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from monitoring.models import EquitySnapshot, ImplementationSnapshot
from tests.monitoring.test_dashboard import Equity, build_equity

STORED_COUNTS = ("grade_level_targets", "below_grade_count", "access_count", "open_alerts", "growth_distribution")
# The figures of the school's suppressed cells (male: mastered, below grade and ahead, access, on pace; other:
# mastered; English learners: access), as JSON would write them.
HIDDEN_SHARES = (81 / 130, 7 / 13, 5 / 7, 9 / 13, 10 / 30, 4 / 7, 11 / 13)


@pytest.fixture
def equity(world) -> Equity:
    return build_equity(world)


def school_json(client, equity: Equity, username: str = "p_a") -> dict:
    client.force_login(equity.world.users[username])
    response = client.get(reverse("api-v1:equity-school-detail", kwargs={"pk": equity.school.pk}))
    assert response.status_code == 200
    return response.json()


def test_school_figures_as_json(client, equity):
    body = school_json(client, equity)
    assert {key: body[key] for key in ("level", "school", "grade", "section", "as_of", "baseline")} == {
        "level": "school",
        "school": {"id": equity.school.pk, "name": "North-A"},
        "grade": None,
        "section": None,
        "as_of": "2026-11-20",
        "baseline": "2026-09-01",
    }
    assert body["district"] == {"id": equity.district.pk, "name": "North District"}
    assert body["suppression_min_n"] == 10
    assert body["headline"] == {
        "dimension": "all",
        "value": "all",
        "suppressed": False,
        "access_suppressed": False,
        "n_students": 40,
        "access_share": 0.75,
        "grade_level_mastered_share": 0.5,
        "growth_median": 4.5,
        "on_pace_share": 0.8,
        "below_grade_share": 0.5,
        "open_alerts_per_100": 15.0,
        "pacing": {"ahead": 0.3, "on_track": 0.5, "at_risk": 0.1, "off_track": 0.1},
    }
    change = body["change_since_baseline"]
    assert change == pytest.approx(
        {
            "n_students": 0,
            "access_share": 0.25,
            "grade_level_mastered_share": 0.25,
            "growth_median": 3.5,
            "on_pace_share": 0.05,
            "below_grade_share": 0.0,
            "open_alerts_per_100": -5.0,
        }
    )
    assert [(child["kind"], child["id"], child["name"]) for child in body["children"]] == [
        ("grade", 5, "Grade 5"),
        ("grade", 6, "Grade 6"),
    ]
    assert [point["date"] for point in body["trend"]] == ["2026-09-01", "2026-10-01", "2026-11-20"]
    assert [point["figures"]["access_share"] for point in body["trend"]] == [0.5, 0.6, 0.75]
    assert body["implementation"] == {
        "date": "2026-11-20",
        "evidence_per_teacher_week": 15.0,
        "students_with_evidence_share": 0.75,
        "acknowledge_days_median": 2.5,
    }
    assert body["implementation_at_baseline"]["acknowledge_days_median"] is None


def test_suppressed_cells_are_marked_and_carry_nothing_else(client, equity):
    body = school_json(client, equity)
    by_group = {(cell["dimension"], cell["value"]): cell for cell in body["subgroups"]}
    assert list(by_group) == [
        ("sex", "female"),
        ("sex", "male"),
        ("sex", "other"),
        ("sex", "unspecified"),
        ("english_learner", "yes"),
        ("english_learner", "no"),
    ]
    assert by_group[("sex", "male")] == {"dimension": "sex", "value": "male", "suppressed": True}
    assert by_group[("sex", "other")] == {"dimension": "sex", "value": "other", "suppressed": True}
    learners = by_group[("english_learner", "yes")]
    assert learners["access_suppressed"] is True
    assert "access_share" not in learners and "below_grade_share" not in learners
    assert set(learners["gap_vs_all"]) == {
        "grade_level_mastered_share",
        "growth_median",
        "on_pace_share",
        "open_alerts_per_100",
    }
    assert learners["n_students"] == 14
    female = by_group[("sex", "female")]
    assert female["access_share"] == 0.6
    assert female["gap_vs_all"]["access_share"] == pytest.approx(-0.15)
    # Nobody in the group: shown as 0 students, with undefined (null) figures, not suppressed.
    assert by_group[("sex", "unspecified")]["n_students"] == 0
    assert by_group[("sex", "unspecified")]["access_share"] is None
    text = json.dumps(body)
    for name in STORED_COUNTS:
        assert f'"{name}"' not in text
    for leak in HIDDEN_SHARES:
        assert json.dumps(leak) not in text


def test_a_grade_has_its_sections_and_a_section_no_subgroups(client, equity):
    client.force_login(equity.world.users["admin_north"])
    grade = client.get(reverse("api-v1:equity-school-grade", kwargs={"pk": equity.school.pk, "grade": 5})).json()
    assert grade["level"] == "grade" and grade["grade"] == 5
    assert [(child["kind"], child["id"]) for child in grade["children"]] == [("section", equity.a1.pk)]
    assert grade["subgroups"][0] == {"dimension": "iep", "value": "yes", "suppressed": True}
    assert grade["section_implementation"] == [
        {
            "section": {"id": equity.a1.pk, "name": "Math A1"},
            "date": "2026-11-20",
            "evidence_per_teacher_week": 12.0,
            "students_with_evidence_share": 0.9,
            "acknowledge_days_median": 1.0,
        }
    ]
    section = client.get(reverse("api-v1:equity-section-detail", kwargs={"pk": equity.a1.pk})).json()
    assert section["level"] == "section"
    assert section["subgroups"] == [] and section["children"] == []
    assert section["headline"]["access_share"] == 0.8
    district = client.get(reverse("api-v1:equity-district-detail", kwargs={"pk": equity.district.pk})).json()
    assert [(child["name"], child["figures"]["n_students"]) for child in district["children"]] == [
        ("North-A", 40),
        ("North-B", 20),
    ]


@pytest.mark.parametrize(
    ("username", "status"),
    [("t_a1", 403), ("s_a1_1", 403), ("g_1", 403), ("p_b", 404), ("admin_south", 404), ("p_a", 200)],
)
def test_the_api_is_scoped_like_the_pages(client, equity, username, status):
    client.force_login(equity.world.users[username])
    before = (EquitySnapshot.objects.count(), ImplementationSnapshot.objects.count())
    urls = [
        reverse("api-v1:equity-school-detail", kwargs={"pk": equity.school.pk}),
        reverse("api-v1:equity-school-grade", kwargs={"pk": equity.school.pk, "grade": 5}),
        reverse("api-v1:equity-section-detail", kwargs={"pk": equity.a1.pk}),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == status, url
        if status != 200:
            assert "n_students" not in response.content.decode()
        assert client.post(url, {}).status_code == 405
    assert (EquitySnapshot.objects.count(), ImplementationSnapshot.objects.count()) == before


def test_a_principal_has_no_district_figures_and_unknown_ids_are_404(client, equity):
    client.force_login(equity.world.users["p_a"])
    assert client.get(reverse("api-v1:equity-district-detail", kwargs={"pk": equity.district.pk})).status_code == 404
    assert client.get(reverse("api-v1:equity-school-detail", kwargs={"pk": 999999})).status_code == 404
    outside = reverse("api-v1:equity-school-grade", kwargs={"pk": equity.school.pk, "grade": 12})
    assert client.get(outside).status_code == 404


def test_anonymous_gets_403(client, equity):
    assert client.get(reverse("api-v1:equity-school-detail", kwargs={"pk": equity.school.pk})).status_code == 403
