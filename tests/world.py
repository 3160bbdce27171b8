"""A small, fully known roster for access and API tests.

District North: schools north-a and north-b. District South: school south-a.

north-a, term 2026-27:
  section A1 (grade 5): teacher t_a1; students s_a1_1, s_a1_2 (s_left enrolled but inactive)
  section A2 (grade 6): teacher t_a2; student s_a2_1
  principal p_a; guardian g_1 of s_a1_1
north-b: section B1 (grade 7): teacher t_b1; student s_b1_1; principal p_b
district North admin: admin_north
south-a: section S1 (grade 4): teacher t_s1; student s_s1_1; principal p_s; district South admin: admin_south
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from profiles.models import (
    Demographics,
    District,
    Enrollment,
    Goal,
    GuardianLink,
    LearnerProfile,
    Role,
    RoleMembership,
    School,
    Section,
    Term,
    User,
)

PASSWORD = "test-pass-123"


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    schools: dict[str, School] = field(default_factory=dict)
    sections: dict[str, Section] = field(default_factory=dict)
    districts: dict[str, District] = field(default_factory=dict)
    goals: dict[str, Goal] = field(default_factory=dict)

    def __getattr__(self, name: str) -> User:
        try:
            return self.__dict__["users"][name]
        except KeyError:
            raise AttributeError(name) from None


def make_user(
    world: World, username: str, role: str, *, school: School | None = None, district: District | None = None
) -> User:
    user = User.objects.create_user(
        username=username, password=PASSWORD, first_name=username.split("_")[0].title(), last_name=username
    )
    RoleMembership.objects.create(user=user, role=role, school=school, district=district)
    world.users[username] = user
    return user


def make_student(
    world: World, username: str, school: School, grade: int, section: Section | None, active: bool = True
) -> User:
    user = make_user(world, username, Role.STUDENT, school=school)
    LearnerProfile.objects.create(
        user=user,
        school=school,
        grade_level=grade,
        strengths=["fractions"],
        interests=["soccer"],
        accommodations=["extended time"] if username.endswith("_1") else [],
    )
    Demographics.objects.create(student=user, sex=Demographics.Sex.FEMALE, english_learner=True)
    if section is not None:
        Enrollment.objects.create(section=section, user=user, role=Enrollment.Role.STUDENT, active=active)
    world.goals[username] = Goal.objects.create(
        student=user, title=f"Goal of {username}", target_date=datetime.date(2027, 3, 1)
    )
    return user


def make_section(world: World, code: str, school: School, term: Term, grade: int, teacher: User) -> Section:
    section = Section.objects.create(school=school, term=term, code=code, name=f"Math {code}", grade_level=grade)
    Enrollment.objects.create(section=section, user=teacher, role=Enrollment.Role.TEACHER)
    world.sections[code] = section
    return section


def build_world() -> World:
    world = World()
    north = District.objects.create(name="North District", code="north")
    south = District.objects.create(name="South District", code="south")
    world.districts.update(north=north, south=south)
    for code, district in (("north-a", north), ("north-b", north), ("south-a", south)):
        world.schools[code] = School.objects.create(
            district=district, name=code.title(), code=code, grade_low=3, grade_high=8
        )
    terms = {
        code: Term.objects.create(
            school=school, name="2026-27", start_date=datetime.date(2026, 8, 24), end_date=datetime.date(2027, 6, 11)
        )
        for code, school in world.schools.items()
    }
    na, nb, sa = world.schools["north-a"], world.schools["north-b"], world.schools["south-a"]

    a1 = make_section(world, "A1", na, terms["north-a"], 5, make_user(world, "t_a1", Role.TEACHER, school=na))
    a2 = make_section(world, "A2", na, terms["north-a"], 6, make_user(world, "t_a2", Role.TEACHER, school=na))
    b1 = make_section(world, "B1", nb, terms["north-b"], 7, make_user(world, "t_b1", Role.TEACHER, school=nb))
    s1 = make_section(world, "S1", sa, terms["south-a"], 4, make_user(world, "t_s1", Role.TEACHER, school=sa))

    make_student(world, "s_a1_1", na, 5, a1)
    make_student(world, "s_a1_2", na, 5, a1)
    make_student(world, "s_left", na, 5, a1, active=False)
    make_student(world, "s_a2_1", na, 6, a2)
    make_student(world, "s_b1_1", nb, 7, b1)
    make_student(world, "s_s1_1", sa, 4, s1)

    make_user(world, "p_a", Role.PRINCIPAL, school=na)
    make_user(world, "p_b", Role.PRINCIPAL, school=nb)
    make_user(world, "p_s", Role.PRINCIPAL, school=sa)
    make_user(world, "admin_north", Role.DISTRICT_ADMIN, district=north)
    make_user(world, "admin_south", Role.DISTRICT_ADMIN, district=south)
    guardian = make_user(world, "g_1", Role.GUARDIAN, school=na)
    GuardianLink.objects.create(guardian=guardian, student=world.users["s_a1_1"], relationship="parent")
    return world


# Who each user may see, by username: the expectations every access test checks against.
STUDENTS = ["s_a1_1", "s_a1_2", "s_left", "s_a2_1", "s_b1_1", "s_s1_1"]
VISIBLE_STUDENTS = {
    "s_a1_1": {"s_a1_1"},
    "s_a1_2": {"s_a1_2"},
    "t_a1": {"s_a1_1", "s_a1_2"},
    "t_a2": {"s_a2_1"},
    "t_b1": {"s_b1_1"},
    "t_s1": {"s_s1_1"},
    "p_a": {"s_a1_1", "s_a1_2", "s_left", "s_a2_1"},
    "p_b": {"s_b1_1"},
    "p_s": {"s_s1_1"},
    "admin_north": {"s_a1_1", "s_a1_2", "s_left", "s_a2_1", "s_b1_1"},
    "admin_south": {"s_s1_1"},
    "g_1": {"s_a1_1"},
}
