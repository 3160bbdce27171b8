"""The access rules of profiles/access.py, checked user by user against the known world."""

import pytest
from django.http import Http404

from profiles import access
from tests.world import STUDENTS, VISIBLE_STUDENTS


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_each_user_sees_exactly_their_students(world, username):
    user = world.users[username]
    seen = set(access.visible_students(user).values_list("username", flat=True))
    assert seen == VISIBLE_STUDENTS[username]


@pytest.mark.parametrize("username", sorted(VISIBLE_STUDENTS))
def test_detail_fetch_of_an_unseen_student_is_404(world, username):
    user = world.users[username]
    for student_name in STUDENTS:
        student_id = world.users[student_name].pk
        if student_name in VISIBLE_STUDENTS[username]:
            assert access.get_learner_profile_or_404(user, student_id).pk == student_id
        else:
            with pytest.raises(Http404):
                access.get_learner_profile_or_404(user, student_id)


def test_unknown_student_is_404_like_forbidden(world):
    with pytest.raises(Http404):
        access.get_learner_profile_or_404(world.users["admin_north"], 10**9)


def test_sections_by_role(world):
    def codes(name):
        return set(access.visible_sections(world.users[name]).values_list("code", flat=True))

    assert codes("t_a1") == {"A1"}
    assert codes("s_a1_1") == {"A1"}
    assert codes("s_left") == set()
    assert codes("p_a") == {"A1", "A2"}
    assert codes("admin_north") == {"A1", "A2", "B1"}
    assert codes("admin_south") == {"S1"}
    assert codes("g_1") == {"A1"}


def test_schools_by_role(world):
    def codes(name):
        return set(access.visible_schools(world.users[name]).values_list("code", flat=True))

    assert codes("t_a1") == {"north-a"}
    assert codes("p_b") == {"north-b"}
    assert codes("admin_north") == {"north-a", "north-b"}
    assert codes("admin_south") == {"south-a"}


def test_only_staff_who_see_a_student_edit_the_profile(world):
    profile = world.users["s_a1_1"].learner_profile
    editors = {name for name in VISIBLE_STUDENTS if access.can_edit_learner_profile(world.users[name], profile)}
    assert editors == {"t_a1", "p_a", "admin_north"}


def test_demographic_aggregates_only_for_principals_and_admins(world):
    allowed = {name for name in VISIBLE_STUDENTS if access.can_see_demographic_aggregates(world.users[name])}
    assert allowed == {"p_a", "p_b", "p_s", "admin_north", "admin_south"}


def test_anonymous_sees_nothing(db):
    from django.contrib.auth.models import AnonymousUser

    assert access.visible_students(AnonymousUser()).count() == 0
    assert access.visible_sections(AnonymousUser()).count() == 0
