"""Fast evidence: a teacher rates several students 1–4 on one competency (pathways.services.ratings and the
grid's ratings form, sections/<id>/mastery/ratings/). Everything is checked before anything is stored; a valid
batch updates evidence, mastery states and path steps at once, in a fixed number of queries."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mastery.models import Evidence, MasteryState, MasteryStatus
from pathways.models import PathStep
from pathways.services.ratings import (
    NO_RATINGS,
    NOT_A_RATING,
    NOT_IN_SECTION,
    NOT_YOUR_STUDENT,
    RATING_SOURCE,
    RatingsRefused,
    ratings_record,
)
from tests.mastery.test_views import build_curriculum, grid_of
from tests.pathways.test_paths import Graph, path_generate
from tests.world import World, make_student

AT = datetime.datetime(2026, 11, 2, 10, tzinfo=datetime.UTC)


@pytest.fixture
def cur(world):
    return build_curriculum(world)


def stored() -> list[tuple]:
    return sorted(
        Evidence.objects.values_list("student__username", "competency__code", "kind", "rating", "source", "note")
    )


# --- the service --------------------------------------------------------------------------------------


def test_ratings_are_stored_with_their_source_and_author_and_mastery_follows(world: World, cur):
    result = ratings_record(
        competency_id=cur.c["5.NF.1"].pk,
        ratings={world.s_a1_1.pk: 4, world.s_a1_2.pk: "2"},
        note="Exit ticket",
        by=world.t_a1,
        observed_at=AT,
        section_id=world.sections["A1"].pk,
    )
    assert stored() == [
        ("s_a1_1", "5.NF.1", "rating", 4, RATING_SOURCE, "Exit ticket"),
        ("s_a1_2", "5.NF.1", "rating", 2, RATING_SOURCE, "Exit ticket"),
    ]
    assert set(Evidence.objects.values_list("recorded_by", flat=True)) == {world.t_a1.pk}
    assert result.recorded == 2
    states = dict(MasteryState.objects.filter(competency=cur.c["5.NF.1"]).values_list("student__username", "status"))
    assert states == {"s_a1_1": MasteryStatus.IN_PROGRESS, "s_a1_2": MasteryStatus.IN_PROGRESS}
    assert sorted((c.student_id, c.before, c.after) for c in result.changes) == sorted(
        (s.pk, MasteryStatus.NOT_STARTED, MasteryStatus.IN_PROGRESS) for s in (world.s_a1_1, world.s_a1_2)
    )


def test_three_ratings_master_the_competency_and_move_the_path_at_once(world: World):
    graph = Graph(world)
    path = path_generate(student_id=graph.student.pk, on=datetime.date(2026, 11, 2))
    for hour in (9, 10, 11):
        ratings_record(
            competency_id=graph.c["A4"].pk,
            ratings={graph.student.pk: 4},
            by=world.t_a1,
            observed_at=AT.replace(hour=hour),
        )
    assert MasteryState.objects.get(student=graph.student, competency=graph.c["A4"]).status == "mastered"
    assert graph.step(path, "A4").state == PathStep.State.MASTERED
    assert graph.step(path, "A5").state == PathStep.State.READY  # its prerequisite is mastered now


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (5, NOT_A_RATING.format(name="S s_a1_2", value=5)),
        (0, NOT_A_RATING.format(name="S s_a1_2", value=0)),
        ("x", NOT_A_RATING.format(name="S s_a1_2", value="x")),
        (2.5, NOT_A_RATING.format(name="S s_a1_2", value=2.5)),
        (True, NOT_A_RATING.format(name="S s_a1_2", value=True)),
    ],
)
def test_a_rating_outside_1_to_4_refuses_the_batch_naming_the_student(world: World, cur, bad, message):
    with pytest.raises(RatingsRefused) as refused:
        ratings_record(
            competency_id=cur.c["5.NF.1"].pk, ratings={world.s_a1_1.pk: 3, world.s_a1_2.pk: bad}, by=world.t_a1
        )
    assert refused.value.by_student == {world.s_a1_2.pk: [message]}
    assert stored() == []
    assert not MasteryState.objects.exists()


def test_a_student_outside_the_teachers_sections_refuses_the_batch(world: World, cur):
    for outsider in (world.s_a2_1, world.s_left, world.s_s1_1):  # another section, inactive, another district
        with pytest.raises(RatingsRefused) as refused:
            ratings_record(
                competency_id=cur.c["5.NF.1"].pk, ratings={world.s_a1_1.pk: 3, outsider.pk: 3}, by=world.t_a1
            )
        assert refused.value.by_student == {outsider.pk: [NOT_YOUR_STUDENT.format(id=outsider.pk)]}
    assert stored() == []


def test_students_and_guardians_record_no_ratings(world: World, cur):
    for username in ("s_a1_1", "g_1"):
        with pytest.raises(RatingsRefused):
            ratings_record(competency_id=cur.c["5.NF.1"].pk, ratings={world.s_a1_1.pk: 4}, by=world.users[username])
    assert stored() == []


def test_from_a_section_every_student_must_be_active_in_it(world: World, cur):
    # The principal sees s_a2_1 but s_a2_1 is not in A1.
    with pytest.raises(RatingsRefused) as refused:
        ratings_record(
            competency_id=cur.c["5.NF.1"].pk,
            ratings={world.s_a1_1.pk: 3, world.s_a2_1.pk: 3},
            by=world.p_a,
            section_id=world.sections["A1"].pk,
        )
    assert refused.value.by_student == {world.s_a2_1.pk: [NOT_IN_SECTION.format(name="S s_a2_1")]}
    assert stored() == []


def test_no_ratings_a_strand_and_an_unknown_competency_are_refused(world: World, cur):
    with pytest.raises(RatingsRefused) as refused:
        ratings_record(competency_id=cur.c["5.NF.1"].pk, ratings={}, by=world.t_a1)
    assert refused.value.by_student == {None: [NO_RATINGS]}
    with pytest.raises(RatingsRefused) as refused:
        ratings_record(competency_id=cur.c["5.NF"].pk, ratings={world.s_a1_1.pk: 3}, by=world.t_a1)
    assert "only groups other competencies" in refused.value.messages[0]
    with pytest.raises(RatingsRefused):
        ratings_record(competency_id=999_999, ratings={world.s_a1_1.pk: 3}, by=world.t_a1)
    assert stored() == []


def test_the_same_form_sent_twice_stores_its_ratings_once(world: World, cur):
    kwargs = {"competency_id": cur.c["5.NF.1"].pk, "ratings": {world.s_a1_1.pk: 3}, "by": world.t_a1}
    assert ratings_record(**kwargs, batch_key="form-1").recorded == 1
    again = ratings_record(**kwargs, batch_key="form-1")
    assert again.recorded == 0 and again.changes == []
    assert Evidence.objects.count() == 1


# --- the grid's ratings form ------------------------------------------------------------------------


def ratings_url(world: World) -> str:
    return reverse("section-ratings", args=[world.sections["A1"].pk])


def form(cur, competency="5.NF.1", **ratings) -> dict[str, str]:
    data = {"competency": str(cur.c[competency].pk), "batch": "", "note": ""}
    data.update({f"rating-{pk}": value for pk, value in ratings.items()})
    return data


def test_the_grid_opens_a_ratings_column_with_labelled_boxes_in_tab_order(client, world: World, cur):
    client.force_login(world.t_a1)
    grid_url = reverse("mastery-grid", args=[world.sections["A1"].pk])
    page = client.get(grid_url).content.decode()
    assert f'action="{grid_url}"' in page and 'name="rate"' in page  # the chooser
    page = client.get(grid_url, {"rate": cur.c["5.NF.2"].pk}).content.decode()
    assert f'action="{ratings_url(world)}"' in page
    for student in (world.s_a1_1, world.s_a1_2):
        assert (
            f'<label class="visually-hidden" for="rating-{student.pk}">Rating for {student} on 5.NF.2</label>' in page
        )
    # Only the boxes (and the note and buttons) are in the Tab order: every link of the table leaves it.
    table = page[page.index("<table") : page.index("</table>")]
    assert table.count("<a ") == table.count('tabindex="-1"')
    # An htmx request gets the fragment, not the page.
    fragment = client.get(grid_url, {"rate": cur.c["5.NF.2"].pk}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and 'id="grid-body"' in fragment


def test_a_teacher_records_ratings_with_htmx_and_gets_the_grid_with_the_changed_cells(client, world: World, cur):
    client.force_login(world.t_a1)
    data = form(cur, **{str(world.s_a1_1.pk): "4", str(world.s_a1_2.pk): ""})
    data["note"] = "Whiteboards"
    response = client.post(ratings_url(world), data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "Recorded 1 rating on 5.NF.1." in html
    assert "S s_a1_1: Not started → In progress" in html
    _columns, rows = grid_of(response)
    assert rows[0] == ("S s_a1_1", ["IP", "NS", "NS"])
    assert html.count("mastery-cell--changed") == 1
    assert stored() == [("s_a1_1", "5.NF.1", "rating", 4, RATING_SOURCE, "Whiteboards")]


def test_without_js_the_form_posts_and_redirects_to_the_grid(client, world: World, cur):
    client.force_login(world.t_a1)
    response = client.post(ratings_url(world), form(cur, **{str(world.s_a1_2.pk): "3"}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mastery-grid", args=[world.sections["A1"].pk]))
    page = client.get(response["Location"]).content.decode()
    assert "Recorded 1 rating on 5.NF.1. S s_a1_2: Not started → In progress." in page


@pytest.mark.parametrize("htmx", [True, False])
def test_a_refused_batch_says_why_beside_the_box_keeps_what_was_typed_and_stores_nothing(client, world, cur, htmx):
    client.force_login(world.t_a1)
    data = form(cur, **{str(world.s_a1_1.pk): "3", str(world.s_a1_2.pk): "7"})
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(ratings_url(world), data, headers=headers)
    assert response.status_code == 400
    html = response.content.decode()
    assert ("<html" in html) is not htmx
    assert "Nothing was recorded." in html
    assert "S s_a1_2: “7” is not a rating. Type a whole number from 1 to 4." in html
    assert re.search(rf'id="rating-{world.s_a1_1.pk}"[^>]*value="3"', html)
    assert re.search(rf'id="rating-{world.s_a1_2.pk}"[^>]*value="7"', html)
    assert re.search(rf'id="rating-{world.s_a1_2.pk}"[^>]*aria-invalid="true"', html)
    assert stored() == []


def test_a_crafted_box_for_a_student_of_another_section_is_refused(client, world: World, cur):
    client.force_login(world.t_a1)
    data = form(cur, **{str(world.s_a1_1.pk): "3", str(world.s_a2_1.pk): "3"})
    response = client.post(ratings_url(world), data, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert NOT_YOUR_STUDENT.format(id=world.s_a2_1.pk) in response.content.decode()
    assert stored() == []


@pytest.mark.parametrize(
    ("username", "status"),
    [("s_a1_1", 404), ("g_1", 404), ("t_a2", 404), ("t_b1", 404), ("p_b", 404), ("p_a", 302), ("t_a1", 302)],
)
def test_only_staff_who_see_the_section_record_ratings(client, world: World, cur, username, status):
    client.force_login(world.users[username])
    response = client.post(ratings_url(world), form(cur, **{str(world.s_a1_1.pk): "3"}))
    assert response.status_code == status
    assert Evidence.objects.count() == (1 if status == 302 else 0)


def _round_trip_queries(client, world: World, cur, students) -> int:
    data = form(cur, **{str(s.pk): "3" for s in students})
    with CaptureQueriesContext(connection) as queries:
        response = client.post(ratings_url(world), data, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.content.decode()[:2000]
    return len(queries)


def test_the_ratings_round_trip_takes_the_same_queries_for_5_and_35_students(client, world: World, cur):
    section = world.sections["A1"]
    extra = [make_student(world, f"s_x_{n:02}", world.schools["north-a"], 5, section) for n in range(33)]
    students = [world.s_a1_1, world.s_a1_2, *extra]
    client.force_login(world.t_a1)
    client.get(reverse("mastery-grid", args=[section.pk]))  # session warm
    with_five = _round_trip_queries(client, world, cur, students[:5])
    with_thirty_five = _round_trip_queries(client, world, cur, students)
    assert len(students) == 35
    assert with_thirty_five == with_five
    assert Evidence.objects.count() == 40
