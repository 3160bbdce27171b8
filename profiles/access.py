"""The one place that decides who may see or do what to which student.

Every list starts from one of the scoped querysets below; every detail fetch goes through a
`get_*_or_404` here, so an unknown id and a forbidden id give the same 404.

The rules:
- a student sees only themself;
- a teacher sees the students actively enrolled in the sections they actively teach;
- a principal sees their school; a district admin their district;
- a guardian sees only their own children;
- demographics are never shown per student; principals and district admins see them as aggregates.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404

from .models import District, Enrollment, Goal, LearnerProfile, Role, RoleMembership, School, Section, User

AnyUser = User | AnonymousUser

# Where a user with several roles lands first: the widest view they have.
ROLE_PRIORITY = [Role.DISTRICT_ADMIN, Role.PRINCIPAL, Role.TEACHER, Role.STUDENT, Role.GUARDIAN]


def user_roles(user: AnyUser) -> set[str]:
    if not isinstance(user, User):
        return set()
    # Cached on the user object: one request asks several rules about the same user.
    cached: set[str] | None = getattr(user, "_plplatform_roles", None)
    if cached is None:
        cached = set(RoleMembership.objects.filter(user=user, active=True).values_list("role", flat=True))
        setattr(user, "_plplatform_roles", cached)  # noqa: B010
    return cached


def primary_role(user: AnyUser) -> str | None:
    roles = user_roles(user)
    return next((role for role in ROLE_PRIORITY if role in roles), None)


def _membership_ids(user: User, role: str, field: str) -> QuerySet:
    return RoleMembership.objects.filter(user=user, role=role, active=True).values(field)


def _taught_section_ids(user: User) -> QuerySet:
    return Enrollment.objects.filter(user=user, role=Enrollment.Role.TEACHER, active=True).values("section_id")


STAFF_ROLES = {Role.TEACHER, Role.PRINCIPAL, Role.DISTRICT_ADMIN}


def _student_condition(user: User, roles: set[str]) -> Q:
    """Which learner profiles the user may see through the given roles, as one condition."""
    condition = Q(pk__in=[])
    if Role.STUDENT in roles:
        condition |= Q(user=user)
    if Role.TEACHER in roles:
        condition |= Q(
            user__enrollments__section__in=_taught_section_ids(user),
            user__enrollments__role=Enrollment.Role.STUDENT,
            user__enrollments__active=True,
        )
    if Role.PRINCIPAL in roles:
        condition |= Q(school__in=_membership_ids(user, Role.PRINCIPAL, "school_id"))
    if Role.DISTRICT_ADMIN in roles:
        condition |= Q(school__district__in=_membership_ids(user, Role.DISTRICT_ADMIN, "district_id"))
    if Role.GUARDIAN in roles:
        condition |= Q(user__guardian_links__guardian=user)
    return condition


def visible_learner_profiles(user: AnyUser) -> QuerySet[LearnerProfile]:
    if not isinstance(user, User):
        return LearnerProfile.objects.none()
    if user.is_superuser:
        return LearnerProfile.objects.all()
    ids = LearnerProfile.objects.filter(_student_condition(user, user_roles(user))).values("pk")
    return LearnerProfile.objects.filter(pk__in=ids)


def visible_students(user: AnyUser) -> QuerySet[User]:
    """Users who are students the given user may see."""
    return User.objects.filter(pk__in=visible_learner_profiles(user).values("pk"))


def visible_schools(user: AnyUser) -> QuerySet[School]:
    if not isinstance(user, User):
        return School.objects.none()
    if user.is_superuser:
        return School.objects.all()
    roles = user_roles(user)
    condition = Q(pk__in=[])
    for role in (Role.STUDENT, Role.TEACHER, Role.PRINCIPAL, Role.GUARDIAN):
        if role in roles:
            condition |= Q(pk__in=_membership_ids(user, role, "school_id"))
    if Role.DISTRICT_ADMIN in roles:
        condition |= Q(district__in=_membership_ids(user, Role.DISTRICT_ADMIN, "district_id"))
    return School.objects.filter(condition)


def visible_sections(user: AnyUser) -> QuerySet[Section]:
    if not isinstance(user, User):
        return Section.objects.none()
    if user.is_superuser:
        return Section.objects.all()
    roles = user_roles(user)
    condition = Q(pk__in=[])
    if Role.STUDENT in roles:
        condition |= Q(
            pk__in=Enrollment.objects.filter(user=user, role=Enrollment.Role.STUDENT, active=True).values("section_id")
        )
    if Role.TEACHER in roles:
        condition |= Q(pk__in=_taught_section_ids(user))
    if Role.PRINCIPAL in roles:
        condition |= Q(school__in=_membership_ids(user, Role.PRINCIPAL, "school_id"))
    if Role.DISTRICT_ADMIN in roles:
        condition |= Q(school__district__in=_membership_ids(user, Role.DISTRICT_ADMIN, "district_id"))
    if Role.GUARDIAN in roles:
        condition |= Q(
            pk__in=Enrollment.objects.filter(
                user__guardian_links__guardian=user, role=Enrollment.Role.STUDENT, active=True
            ).values("section_id")
        )
    return Section.objects.filter(condition)


def visible_goals(user: AnyUser) -> QuerySet[Goal]:
    return Goal.objects.filter(student__in=visible_students(user).values("pk"))


def get_learner_profile_or_404(user: AnyUser, student_id: int) -> LearnerProfile:
    try:
        return visible_learner_profiles(user).select_related("user", "school").get(pk=student_id)
    except LearnerProfile.DoesNotExist:
        raise Http404("No such student.") from None


def get_section_or_404(user: AnyUser, section_id: int) -> Section:
    try:
        return visible_sections(user).select_related("school", "term").get(pk=section_id)
    except Section.DoesNotExist:
        raise Http404("No such section.") from None


def get_school_or_404(user: AnyUser, school_id: int) -> School:
    try:
        return visible_schools(user).select_related("district").get(pk=school_id)
    except School.DoesNotExist:
        raise Http404("No such school.") from None


def get_goal_or_404(user: AnyUser, goal_id: int) -> Goal:
    try:
        return visible_goals(user).get(pk=goal_id)
    except Goal.DoesNotExist:
        raise Http404("No such goal.") from None


# --- what a user may change -------------------------------------------------------------------


def can_edit_learner_profile(user: AnyUser, profile: LearnerProfile) -> bool:
    """Staff who see the student edit the profile; students and guardians only read it."""
    if not isinstance(user, User):
        return False
    if user.is_superuser:
        return True
    staff_roles = user_roles(user) & STAFF_ROLES
    if not staff_roles:
        return False
    return LearnerProfile.objects.filter(_student_condition(user, staff_roles), pk=profile.pk).exists()


def can_manage_goals(user: AnyUser, profile: LearnerProfile) -> bool:
    """Goals are set with a teacher: staff who see the student create and update them."""
    return can_edit_learner_profile(user, profile)


def can_see_class_overviews(user: AnyUser) -> bool:
    """Whole-class views (a section's mastery grid) show classmates side by side: staff only.
    Which students appear is still decided by visible_students."""
    return isinstance(user, User) and bool(user.is_superuser or user_roles(user) & STAFF_ROLES)


def can_see_demographic_aggregates(user: AnyUser) -> bool:
    return bool(user_roles(user) & {Role.PRINCIPAL, Role.DISTRICT_ADMIN})


# --- school and district overviews ---------------------------------------------------------------
# Appended with the HTML pages: the school overview (grades, sections, counts) is for the people who
# run a school or a district, not for every member of it (a teacher or student of the school gets 404).


def administered_districts(user: AnyUser) -> QuerySet[District]:
    """Districts the user administers (district admins; a superuser administers all)."""
    if not isinstance(user, User):
        return District.objects.none()
    if user.is_superuser:
        return District.objects.all()
    if Role.DISTRICT_ADMIN not in user_roles(user):
        return District.objects.none()
    return District.objects.filter(pk__in=_membership_ids(user, Role.DISTRICT_ADMIN, "district_id"))


def get_administered_district_or_404(user: AnyUser, district_id: int) -> District:
    """A district the user administers; unknown and forbidden both 404."""
    try:
        return administered_districts(user).get(pk=district_id)
    except District.DoesNotExist:
        raise Http404("No such district.") from None


def overview_schools(user: AnyUser) -> QuerySet[School]:
    """Schools whose overview the user may see: a principal their schools, a district admin their districts'."""
    if not isinstance(user, User):
        return School.objects.none()
    if user.is_superuser:
        return School.objects.all()
    roles = user_roles(user)
    condition = Q(pk__in=[])
    if Role.PRINCIPAL in roles:
        condition |= Q(pk__in=_membership_ids(user, Role.PRINCIPAL, "school_id"))
    if Role.DISTRICT_ADMIN in roles:
        condition |= Q(district__in=_membership_ids(user, Role.DISTRICT_ADMIN, "district_id"))
    return School.objects.filter(condition)


def get_overview_school_or_404(user: AnyUser, school_id: int) -> School:
    try:
        return overview_schools(user).select_related("district").get(pk=school_id)
    except School.DoesNotExist:
        raise Http404("No such school.") from None


# --- recording evidence --------------------------------------------------------------------------
# Appended with the evidence API (mastery): staff record evidence for the students they see; students
# and guardians record none. An unseen student is refused exactly like an unknown one.


def evidence_recordable_students(user: AnyUser) -> QuerySet[LearnerProfile]:
    """Students the user may record evidence for: a teacher their sections' students, a principal their
    school's, a district admin their district's, a superuser everyone. Students and guardians: nobody.

    The staff rules of `_student_condition`, written as small subqueries (taught students, schools) with
    no join, so that checking a batch of ids probes the ids instead of reading a whole district's students
    (tests check that it gives the same students as `visible_learner_profiles` for every staff role)."""
    if not isinstance(user, User):
        return LearnerProfile.objects.none()
    if user.is_superuser:
        return LearnerProfile.objects.all()
    roles = user_roles(user)
    condition = Q(pk__in=[])
    if Role.TEACHER in roles:
        taught = Enrollment.objects.filter(
            section__in=_taught_section_ids(user), role=Enrollment.Role.STUDENT, active=True
        ).values("user_id")
        condition |= Q(pk__in=taught)
    if Role.PRINCIPAL in roles:
        condition |= Q(school__in=_membership_ids(user, Role.PRINCIPAL, "school_id"))
    if Role.DISTRICT_ADMIN in roles:
        districts = _membership_ids(user, Role.DISTRICT_ADMIN, "district_id")
        condition |= Q(school__in=School.objects.filter(district__in=districts).values("pk"))
    return LearnerProfile.objects.filter(condition)


def can_record_evidence(user: AnyUser, student_id: int | None = None) -> bool:
    """Without a student: whether the user records evidence at all (a staff role or superuser).
    With one: whether the user may record evidence for that student."""
    if not isinstance(user, User):
        return False
    if student_id is None:
        return user.is_superuser or bool(user_roles(user) & STAFF_ROLES)
    return evidence_recordable_students(user).filter(pk=student_id).exists()


# --- choice within limits (pathways) -------------------------------------------------------------
# Appended with student choice: a teacher sets the limits of choice for a section and approves or
# declines their students' choices; staff review the quality of activities; a student chooses only for
# themself. These rules take profiles rows and ids only (pathways sits above profiles).


def choice_limit_sections(user: AnyUser) -> QuerySet[Section]:
    """Sections whose choice limits the user may set: a teacher the sections they actively teach, a
    principal their school's, a district admin their district's, a superuser all. Students and guardians:
    none (they see sections but do not set their limits)."""
    if not isinstance(user, User):
        return Section.objects.none()
    if user.is_superuser:
        return Section.objects.all()
    roles = user_roles(user)
    condition = Q(pk__in=[])
    if Role.TEACHER in roles:
        condition |= Q(pk__in=_taught_section_ids(user))
    if Role.PRINCIPAL in roles:
        condition |= Q(school__in=_membership_ids(user, Role.PRINCIPAL, "school_id"))
    if Role.DISTRICT_ADMIN in roles:
        condition |= Q(school__district__in=_membership_ids(user, Role.DISTRICT_ADMIN, "district_id"))
    return Section.objects.filter(condition)


def can_set_choice_limits(user: AnyUser, section: Section) -> bool:
    """Whether the user may set how much choice the section's students have (see choice_limit_sections)."""
    return choice_limit_sections(user).filter(pk=section.pk).exists()


def can_decide_step_choices(user: AnyUser, student_id: int) -> bool:
    """Approving or declining a student's choice steers their daily work: a teacher who actively teaches a
    section the student is actively enrolled in (or a superuser). Principals and district admins see the
    student but leave the steering to the teacher; the student cannot approve their own choice."""
    if not isinstance(user, User):
        return False
    if user.is_superuser:
        return True
    if Role.TEACHER not in user_roles(user):
        return False
    return Enrollment.objects.filter(
        section__in=_taught_section_ids(user), user_id=student_id, role=Enrollment.Role.STUDENT, active=True
    ).exists()


def can_review_activities(user: AnyUser) -> bool:
    """Activities form one library shared across schools; any staff member (teacher, principal, district
    admin) or superuser adds materials and reviews their quality. Students and guardians do neither."""
    return isinstance(user, User) and bool(user.is_superuser or user_roles(user) & STAFF_ROLES)


def can_choose_own_steps(user: AnyUser) -> bool:
    """A student chooses their next step for themself; nobody chooses in a student's name (a teacher steers
    by setting limits, pinning steps and deciding choices). Which steps are theirs is the service's check."""
    return Role.STUDENT in user_roles(user)


# --- learning paths and alerts (pathways) ----------------------------------------------------------
# Paths are seen by whoever sees the student (visible_learner_profiles): the student, their guardians and
# staff. Alerts are written for teachers (their numbers and wording are not for students or families),
# so only staff who see the student see and act on them.


def alert_students(user: AnyUser) -> QuerySet[LearnerProfile]:
    """Students whose pacing alerts the user sees: staff who see them (the same staff scope as recording
    evidence: a teacher their sections', a principal their school's, a district admin their district's).
    Students and guardians: nobody, not even themselves."""
    return evidence_recordable_students(user)


def can_act_on_alerts(user: AnyUser, profile: LearnerProfile) -> bool:
    """Acknowledging or resolving a student's alert: staff who see the student."""
    return alert_students(user).filter(pk=profile.pk).exists()


def can_edit_path(user: AnyUser, profile: LearnerProfile) -> bool:
    """Regenerating, adding, removing, reordering, pinning or skipping path steps and setting the path's
    dates: staff who see the student (students choose among their steps; they do not edit the path)."""
    return can_edit_learner_profile(user, profile)


# --- the teacher's workspace: Today and small groups (pathways) --------------------------------------
# Appended with the teacher's Today page: a teacher's alerts are those of the students actively enrolled
# in the sections they actively teach (a teacher who is also a principal still sees only their classes
# there), and a teacher plans small groups and records their ratings for the sections they teach.


def workspace_sections(user: AnyUser) -> QuerySet[Section]:
    """Sections whose small groups the user plans and rates: those they actively teach (teachers only; a
    principal or district admin sees the section but leaves its small groups to its teachers)."""
    if not isinstance(user, User) or Role.TEACHER not in user_roles(user):
        return Section.objects.none()
    return Section.objects.filter(pk__in=_taught_section_ids(user))


def workspace_students(user: AnyUser) -> QuerySet[LearnerProfile]:
    """Students on the user's Today page: actively enrolled in a section the user actively teaches, and
    among those whose alerts the user sees (alert_students)."""
    if not isinstance(user, User) or Role.TEACHER not in user_roles(user):
        return LearnerProfile.objects.none()
    taught = Enrollment.objects.filter(
        section__in=_taught_section_ids(user), role=Enrollment.Role.STUDENT, active=True
    ).values("user_id")
    return alert_students(user).filter(pk__in=taught)


def get_workspace_section_or_404(user: AnyUser, section_id: int) -> Section:
    try:
        return workspace_sections(user).select_related("school", "term").get(pk=section_id)
    except Section.DoesNotExist:
        raise Http404("No such section.") from None


# --- the equity dashboard (monitoring) -------------------------------------------------------------
# Appended with the principal's equity dashboard: aggregates of a school or a district, by subgroup
# (demographics only as suppressed aggregates, never per student). A principal sees their schools; a district
# admin every school of their districts and each district as a whole. Teachers, students and guardians are
# refused the dashboard (403) whatever the id; a principal or admin asking for a school, section or district
# outside their scope gets 404, like an unknown one.


def can_see_equity_dashboard(user: AnyUser) -> bool:
    """Principals, district admins and superusers; everyone else is refused the whole dashboard."""
    if not isinstance(user, User):
        return False
    return user.is_superuser or bool(user_roles(user) & {Role.PRINCIPAL, Role.DISTRICT_ADMIN})


def equity_dashboard_districts(user: AnyUser) -> QuerySet[District]:
    """Districts whose district-wide dashboard the user sees: those they administer."""
    return administered_districts(user)


def equity_dashboard_schools(user: AnyUser) -> QuerySet[School]:
    """Schools whose dashboard (and its grades and sections) the user sees: a principal their schools, a
    district admin every school of their districts."""
    return overview_schools(user)


def get_equity_district_or_404(user: AnyUser, district_id: int) -> District:
    """A district whose district-wide dashboard the user sees (those they administer)."""
    return get_administered_district_or_404(user, district_id)


def get_equity_school_or_404(user: AnyUser, school_id: int) -> School:
    try:
        return equity_dashboard_schools(user).select_related("district").get(pk=school_id)
    except School.DoesNotExist:
        raise Http404("No such school.") from None


def get_equity_section_or_404(user: AnyUser, section_id: int) -> Section:
    """A section of a school on the user's dashboard (its aggregates only: never a student's demographics)."""
    schools = equity_dashboard_schools(user).values("pk")
    try:
        return Section.objects.select_related("school__district").get(pk=section_id, school__in=schools)
    except Section.DoesNotExist:
        raise Http404("No such section.") from None


# --- roster imports ------------------------------------------------------------------------------
# The OneRoster upload page: only the district's admins (and superusers) bring a roster into a district;
# it fetches the district with get_administered_district_or_404 (anyone else gets an unknown district's 404).


# --- frameworks: CASE import and export (mastery) ------------------------------------------------------
# Appended with the CASE import: a framework is shared by every school (no student data, no district of
# its own), so replacing one changes every district's paths. District admins (and superusers) import
# frameworks; staff export them (teachers plan with them in other tools). Students and guardians see the
# competencies of their own paths but do neither: for them the routes answer 404, like an unknown one.


def can_manage_frameworks(user: AnyUser) -> bool:
    """Importing a CASE framework (the upload page, and the only writer of frameworks on the site)."""
    return isinstance(user, User) and bool(user.is_superuser or Role.DISTRICT_ADMIN in user_roles(user))


def can_export_frameworks(user: AnyUser) -> bool:
    """Downloading a framework as CASE JSON: staff (teacher, principal, district admin) or a superuser."""
    return isinstance(user, User) and bool(user.is_superuser or user_roles(user) & STAFF_ROLES)


# --- a student's complete record ------------------------------------------------------------------
# Appended with the record export (monitoring/student_record.py): a family asks the school to see
# everything stored about their child; the school's principal or a district admin answers.


def can_export_student_record(user: AnyUser, profile: LearnerProfile) -> bool:
    return overview_schools(user).filter(pk=profile.school_id).exists()


def get_student_record_profile_or_404(user: AnyUser, student_id: int) -> LearnerProfile:
    """The student whose complete record the user may export; unknown and forbidden both 404."""
    try:
        return LearnerProfile.objects.filter(school__in=overview_schools(user)).get(pk=student_id)
    except LearnerProfile.DoesNotExist:
        raise Http404("No such student.") from None


# --- learning tools' unmatched statements (mastery) -------------------------------------------------
# Appended with the unmatched-statements page: a learning tool writes for one school or one district, and the
# admins of that district map the people its statements name to students (and so decide whose record the
# tool's evidence lands in). Principals, teachers, students and guardians map nothing: the routes answer 404.


def tool_mapping_students(user: AnyUser, district_id: int) -> QuerySet[LearnerProfile]:
    """Students of the district `district_id` whom the user may map a learning tool's person to: every
    student of the district for its admins (and superusers), nobody for anyone else. Written as small
    subqueries with no join, so that a name search over a district of 50,000 students reads one district."""
    districts = administered_districts(user).filter(pk=district_id).values("pk")
    return LearnerProfile.objects.filter(school__in=School.objects.filter(district__in=districts).values("pk"))
