"""Reads of the profiles app, with their joins preloaded. Callers pass an access-scoped queryset."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from .models import Enrollment, LearnerProfile, School, Section, User


def section_rosters(sections: QuerySet[Section]) -> QuerySet[Section]:
    """Sections with their active students (and each one's learner profile) and teachers preloaded."""
    students = (
        Enrollment.objects.filter(role=Enrollment.Role.STUDENT, active=True)
        .select_related("user__learner_profile")
        .order_by("user__last_name", "user__first_name")
    )
    teachers = Enrollment.objects.filter(role=Enrollment.Role.TEACHER, active=True).select_related("user")
    return sections.select_related("school", "term").prefetch_related(
        Prefetch("enrollments", queryset=students, to_attr="student_enrollments"),
        Prefetch("enrollments", queryset=teachers, to_attr="teacher_enrollments"),
    )


def sections_with_counts(sections: QuerySet[Section]) -> QuerySet[Section]:
    active_students = Q(enrollments__role=Enrollment.Role.STUDENT, enrollments__active=True)
    return sections.select_related("term").annotate(student_count=Count("enrollments", filter=active_students))


def schools_with_counts(schools: QuerySet[School]) -> QuerySet[School]:
    return schools.annotate(
        student_count=Count("learners", distinct=True), section_count=Count("sections", distinct=True)
    )


def learner_profile_detail(profile: LearnerProfile) -> dict:
    """What the learner-profile page shows about one student: profile, goals, sections."""
    student: User = profile.user
    return {
        "profile": profile,
        "student": student,
        "goals": list(student.goals.select_related("set_with").order_by("status", "target_date")),
        "sections": list(
            Section.objects.filter(
                enrollments__user=student, enrollments__role=Enrollment.Role.STUDENT, enrollments__active=True
            ).select_related("term")
        ),
    }
