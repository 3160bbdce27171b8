"""The demo-district generator (plplatform/demo.py) and its `seed_demo` command.

Seeding runs small (60 students, one school): one section per grade and six teachers follow from
those arguments, so the counts below are exact.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter, defaultdict, deque
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from mastery.interop.unmatched import unmatched_map
from mastery.models import (
    Competency,
    Evidence,
    Framework,
    MasteryPolicy,
    Prerequisite,
    ToolCredential,
    UnmatchedStatement,
)
from plplatform import demo
from profiles.models import (
    Demographics,
    District,
    Enrollment,
    Goal,
    GuardianLink,
    Holiday,
    LearnerProfile,
    Role,
    RoleMembership,
    School,
    Section,
    Term,
    User,
)

SMALL: dict[str, int] = {"schools": 1, "students": 60}
# 60 students, 6 teachers (one section per grade), 1 principal, 1 district admin, 2 guardians.
SMALL_USERS = 70
ASSESSABLE_COMPETENCIES = 156
STRANDS = 30
PREREQUISITE_EDGES = 329
CROSS_GRADE_EDGES = 146
HOLIDAYS_PER_TERM = 23


def seed(**options: object) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **{**SMALL, "force": True, **options})
    return out.getvalue()


def table_counts() -> dict[str, int]:
    models = (District, School, Term, User, RoleMembership, Section, Enrollment, Goal, GuardianLink, Evidence)
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def seeded(db: None) -> str:
    return seed()


# --- Counts that follow from the arguments ----------------------------------------------------------


def test_seed_makes_exactly_the_rows_its_arguments_ask_for(seeded: str) -> None:
    assert District.objects.get().code == "demo"
    assert School.objects.count() == 1
    assert Term.objects.count() == 1
    assert Holiday.objects.count() == HOLIDAYS_PER_TERM
    assert User.objects.count() == SMALL_USERS
    assert RoleMembership.objects.count() == SMALL_USERS
    assert RoleMembership.objects.filter(role=Role.STUDENT, school__isnull=False).count() == 60
    assert RoleMembership.objects.filter(role=Role.TEACHER).count() == 6
    assert RoleMembership.objects.filter(role=Role.PRINCIPAL).count() == 1
    assert RoleMembership.objects.filter(role=Role.DISTRICT_ADMIN, district__code="demo").count() == 1
    assert RoleMembership.objects.filter(role=Role.GUARDIAN).count() == 2
    assert GuardianLink.objects.count() == 2
    assert Section.objects.count() == 6
    assert sorted(Section.objects.values_list("grade_level", flat=True)) == [3, 4, 5, 6, 7, 8]
    assert Enrollment.objects.filter(role=Enrollment.Role.STUDENT).count() == 60
    assert Enrollment.objects.filter(role=Enrollment.Role.TEACHER).count() == 6
    assert LearnerProfile.objects.count() == 60
    assert Demographics.objects.count() == 60


def test_seed_writes_exactly_the_plan_built_from_the_same_arguments(seeded: str) -> None:
    plan = demo.build_demo_plan(schools=1, students=60, seed=demo.DEFAULT_SEED, time_zone=str(settings.TIME_ZONE))

    assert Goal.objects.count() == len(plan.goals)
    assert Evidence.objects.count() == len(plan.evidence)
    by_source = Counter(e.source for e in plan.evidence)
    assert set(by_source) == {"demo", "demo-prior-year"}
    assert Counter(Evidence.objects.values_list("source", flat=True)) == by_source
    assert set(Evidence.objects.values_list("external_id", flat=True)) == {e.external_id for e in plan.evidence}
    assert sorted(User.objects.values_list("username", flat=True)) == sorted(p.username for p in plan.people)


def test_command_prints_the_sign_ins_and_a_count_summary(seeded: str) -> None:
    assert "Demo sign-ins (password: demo-pass):" in seeded
    for username, role, _, _ in demo.DEMO_SIGN_INS:
        assert f"  {username:<16} {role}\n" in seeded
    summary = next(line for line in seeded.splitlines() if line.startswith("Database now holds: "))
    assert summary == (
        "Database now holds: districts 1, schools 1, users 70, students 60, teachers 6, sections 6, "
        f"goals {Goal.objects.count()}, competencies 186, prerequisites 329, evidence {Evidence.objects.count()}"
    )


# --- Demo sign-ins ------------------------------------------------------------------------------------


def test_demo_users_have_their_roles_and_sign_in_with_the_demo_password(seeded: str) -> None:
    for username, role, _, _ in demo.DEMO_SIGN_INS:
        user = authenticate(username=username, password="demo-pass")
        assert user is not None, username
        assert list(user.memberships.values_list("role", flat=True)) == [role]
        assert user.first_name != "" and user.last_name != ""

    admin = RoleMembership.objects.get(user__username="demo-admin")
    assert (admin.district_id, admin.school_id) == (District.objects.get(code="demo").id, None)
    teacher_school = RoleMembership.objects.get(user__username="demo-teacher").school
    assert RoleMembership.objects.get(user__username="demo-principal").school == teacher_school


def test_everyone_else_has_an_unusable_password_and_a_numbered_username(seeded: str) -> None:
    others = User.objects.exclude(username__in=demo.DEMO_USERNAMES)

    assert others.count() == SMALL_USERS - 5
    assert [user.has_usable_password() for user in others] == [False] * (SMALL_USERS - 5)
    assert others.filter(username__regex=r"^(stu-\d{5}|tch-\d{3}|prn-\d{2}|gdn-\d{4})$").count() == SMALL_USERS - 5
    assert User.objects.get(username="stu-00001").memberships.get().role == Role.STUDENT


def test_demo_student_sits_in_a_section_of_demo_teacher_and_demo_guardian_is_theirs(seeded: str) -> None:
    teacher_sections = set(
        Enrollment.objects.filter(user__username="demo-teacher", role=Enrollment.Role.TEACHER).values_list(
            "section", flat=True
        )
    )
    student_section = Enrollment.objects.get(user__username="demo-student", role=Enrollment.Role.STUDENT).section

    assert student_section.id in teacher_sections
    assert student_section.grade_level == 6
    link = GuardianLink.objects.get(guardian__username="demo-guardian")
    assert link.student.username == "demo-student"


# --- Learners -------------------------------------------------------------------------------------------


def test_every_student_has_a_profile_matching_the_section_and_iep_students_have_accommodations(seeded: str) -> None:
    mismatched = [
        enrollment.user.username
        for enrollment in Enrollment.objects.filter(role=Enrollment.Role.STUDENT).select_related(
            "section", "user__learner_profile"
        )
        if enrollment.user.learner_profile.grade_level != enrollment.section.grade_level
    ]
    iep_without_accommodations = LearnerProfile.objects.filter(user__demographics__iep=True, accommodations=[])
    words = [
        item
        for profile in LearnerProfile.objects.all()
        for item in (*profile.strengths, *profile.needs, *profile.interests, *profile.motivations)
    ]

    assert mismatched == []
    assert iep_without_accommodations.count() == 0
    assert [word for word in words if "style" in word.lower()] == []


# --- Determinism ---------------------------------------------------------------------------------------


def test_the_same_seed_gives_an_equal_plan_and_another_seed_a_different_one() -> None:
    first = demo.build_demo_plan(schools=1, students=60, seed=7)
    again = demo.build_demo_plan(schools=1, students=60, seed=7)
    other = demo.build_demo_plan(schools=1, students=60, seed=8)

    assert first == again
    assert first != other
    assert first.evidence != other.evidence
    assert [p.first_name for p in first.people] != [p.first_name for p in other.people]
    # The curriculum is the district's, not the seed's.
    assert first.competencies == other.competencies
    assert first.prerequisites == other.prerequisites


# --- The framework --------------------------------------------------------------------------------------


def test_framework_has_strands_competencies_and_the_default_bkt_policy(seeded: str) -> None:
    framework = Framework.objects.get()
    policy = MasteryPolicy.objects.get()

    assert (framework.subject, framework.grade_low, framework.grade_high) == ("Mathematics", 3, 8)
    assert framework.source_identifier is None
    assert Competency.objects.filter(assessable=False, parent__isnull=True).count() == STRANDS
    assert Competency.objects.filter(assessable=True, parent__assessable=False).count() == ASSESSABLE_COMPETENCIES
    assert Competency.objects.get(code="6.RP.3").parent == Competency.objects.get(code="6.RP")
    assert (policy.version, policy.method) == (1, "bkt")
    assert policy.parameters == {"p_init": 0.25, "p_learn": 0.15, "p_guess": 0.20, "p_slip": 0.10, "p_forget": 0.0}


def test_prerequisite_graph_is_acyclic_and_crosses_grades(seeded: str) -> None:
    edges = list(Prerequisite.objects.values_list("prerequisite_id", "competency_id"))
    grade = dict(Competency.objects.values_list("id", "grade_level"))

    assert len(edges) == PREREQUISITE_EDGES
    assert len(topological_order(edges)) == len({node for edge in edges for node in edge})
    assert sum(grade[before] != grade[after] for before, after in edges) == CROSS_GRADE_EDGES
    assert sum(grade[before] == grade[after] - 1 for before, after in edges) == CROSS_GRADE_EDGES
    assert Prerequisite.objects.filter(prerequisite__code="5.NF.7", competency__code__startswith="6.RP").count() == 1


def topological_order(edges: list[tuple[int, int]]) -> list[int]:
    """Kahn's algorithm: every node comes out only if the graph has no cycle."""
    after: dict[int, list[int]] = defaultdict(list)
    waiting_on: dict[int, int] = defaultdict(int)
    nodes = {node for edge in edges for node in edge}
    for before, later in edges:
        after[before].append(later)
        waiting_on[later] += 1
    ready = deque(sorted(node for node in nodes if waiting_on[node] == 0))
    order: list[int] = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for later in after[node]:
            waiting_on[later] -= 1
            if waiting_on[later] == 0:
                ready.append(later)
    return order


# --- Evidence -------------------------------------------------------------------------------------------


def test_evidence_values_are_in_range_and_ratings_come_from_the_students_teacher(seeded: str) -> None:
    scores = Evidence.objects.filter(kind=Evidence.Kind.SCORE)
    ratings = Evidence.objects.filter(kind=Evidence.Kind.RATING)
    teacher_of = dict(
        Enrollment.objects.filter(
            role=Enrollment.Role.STUDENT, section__enrollments__role=Enrollment.Role.TEACHER
        ).values_list("user_id", "section__enrollments__user_id")
    )

    assert scores.count() + ratings.count() == Evidence.objects.count()
    assert scores.exclude(score__gte=0, score__lte=1).count() == 0
    assert scores.filter(rating__isnull=False).count() == 0
    assert ratings.exclude(rating__gte=1, rating__lte=4).count() == 0
    assert ratings.filter(score__isnull=False).count() == 0
    assert ratings.filter(recorded_by__isnull=True).count() == 0
    assert [(r.student_id, r.recorded_by_id) for r in ratings if teacher_of[r.student_id] != r.recorded_by_id] == []
    assert Evidence.objects.exclude(raw={}).count() == 0


@pytest.mark.parametrize(
    ("source", "first", "last"),
    [
        (demo.DEMO_SOURCE, demo.TERM_START, demo.EVIDENCE_END),
        (demo.PRIOR_YEAR_SOURCE, demo.PRIOR_YEAR_FIRST, demo.PRIOR_YEAR_LAST),
    ],
)
def test_evidence_is_observed_on_school_days_during_school_hours(seeded: str, source, first, last) -> None:
    local = ZoneInfo(str(settings.TIME_ZONE))
    school_days = set(demo.school_days(first, last))
    observed = Evidence.objects.filter(source=source).values_list("observed_at", flat=True)
    moments = [at.astimezone(local) for at in observed]

    assert len(moments) > 1000
    assert [at for at in moments if at.date() not in school_days] == []
    assert [at for at in moments if not datetime.time(8, 0) <= at.time() <= datetime.time(15, 0)] == []


def test_last_springs_checks_cover_what_each_student_knew_before_the_placement_check(seeded: str) -> None:
    """Every competency of the path before the student's placement window has prior-year scores, at most
    PRIOR_YEAR_ITEMS_MAX each, and none at or after the window (those are this term's evidence)."""
    path = demo.demo_curriculum().path
    prior = Evidence.objects.filter(source=demo.PRIOR_YEAR_SOURCE)
    per_pair = Counter(prior.values_list("student_id", "competency__code"))
    assert max(per_pair.values()) <= demo.PRIOR_YEAR_ITEMS_MAX
    assert min(per_pair.values()) >= 1
    assert prior.exclude(kind=Evidence.Kind.SCORE).count() == 0
    for student_id in {student for student, _ in per_pair}:
        codes = {code for student, code in per_pair if student == student_id}
        positions = sorted(path.index(code) for code in codes)
        assert positions == list(range(len(positions)))  # a prefix of the path: everything known before


def test_bkt_update_follows_the_design_formula() -> None:
    # P(L)=0.25, correct: posterior 0.225 / (0.225 + 0.15) = 0.6, then learning: 0.6 + 0.4 × 0.15.
    assert demo.bkt_update(0.25, 1.0) == pytest.approx(0.66)
    # Wrong: posterior 0.025 / (0.025 + 0.6) = 0.04, then 0.04 + 0.96 × 0.15.
    assert demo.bkt_update(0.25, 0.0) == pytest.approx(0.184)


# --- Guards -------------------------------------------------------------------------------------------------


def test_if_empty_seeds_an_empty_database_and_then_adds_nothing(db: None) -> None:
    seed(if_empty=True)
    before = table_counts()

    output = seed(if_empty=True)

    assert before["District"] == 1
    assert table_counts() == before
    assert "A district already exists; nothing seeded." in output
    assert "  demo-teacher     teacher\n" in output


def test_seeding_twice_without_if_empty_refuses_and_changes_nothing(seeded: str) -> None:
    before = table_counts()

    with pytest.raises(CommandError, match=re.escape("The demo district already exists. Seed a fresh database")):
        seed()

    assert table_counts() == before


def test_refuses_when_debug_is_off_without_force(db: None, settings) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match=re.escape("refuses to run with DEBUG off. Pass --force")):
        call_command("seed_demo", **SMALL, stdout=StringIO())

    assert table_counts() == dict.fromkeys(table_counts(), 0)


def test_runs_without_force_when_debug_is_on(db: None, settings) -> None:
    settings.DEBUG = True

    call_command("seed_demo", **SMALL, stdout=StringIO())

    assert RoleMembership.objects.filter(role=Role.STUDENT).count() == 60


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--schools", "0"], "--schools must be between 1 and 10, got 0."),
        (["--schools", "11"], "--schools must be between 1 and 10, got 11."),
        (["--schools", "2", "--students", "19"], "--students must be between 20 "),
        (["--students", "20001"], "--students must be between 20 "),
    ],
)
def test_bad_sizes_are_refused_naming_the_option(db: None, arguments: list[str], message: str) -> None:
    with pytest.raises(CommandError) as refused:
        call_command("seed_demo", *arguments, "--force", stdout=StringIO())

    assert str(refused.value).startswith(message)
    assert table_counts() == dict.fromkeys(table_counts(), 0)


def test_a_practice_tool_leaves_two_groups_of_statements_for_the_district_admin_to_map(seeded: str) -> None:
    """Four answers of a learner the roster does not know, two of demo-student on an activity no competency
    is mapped to; none of them is evidence, and demo-admin's unmatched page lists both groups."""
    tool = ToolCredential.objects.get(source=demo.DEMO_TOOL_SOURCE)
    assert tool.district is not None
    assert (tool.name, tool.district.code, tool.school_id, tool.active) == ("Math Practice (demo)", "demo", None, True)
    open_rows = UnmatchedStatement.objects.filter(tool=tool, resolved_at__isnull=True)
    groups = Counter((row.person, row.activity) for row in open_rows)
    assert groups == {
        ("mailto:new.enrollee@math-practice.example", ""): 4,
        ("", "https://math-practice.example/activities/fraction-warm-up"): 2,
    }
    assert Evidence.objects.filter(source=demo.DEMO_TOOL_SOURCE).count() == 0
    admin = User.objects.get(username="demo-admin")
    client = Client()
    client.force_login(admin)
    page = client.get(reverse("district-unmatched", args=[tool.district_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "new.enrollee@math-practice.example" in html and "Fraction warm-up" in html

    # Mapped to a student, the learner's four answers become evidence of the four mapped competencies.
    student = User.objects.filter(learner_profile__isnull=False).exclude(username="demo-student").order_by("pk")[0]
    unmatched_map(unmatched=open_rows.filter(person__startswith="mailto:new.enrollee")[0], student=student)
    stored = Evidence.objects.filter(source=demo.DEMO_TOOL_SOURCE)
    assert sorted(stored.values_list("student_id", "score")) == [
        (student.pk, 0.6),
        (student.pk, 0.7),
        (student.pk, 0.8),
        (student.pk, 0.9),
    ]
    assert stored.values("competency_id").distinct().count() == 4
    assert UnmatchedStatement.objects.filter(tool=tool, resolved_at__isnull=True).count() == 2
