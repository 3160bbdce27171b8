"""Schools, terms, people and roles, sections, enrollments, learner profiles, goals, identities.

A student is a `User` with a `LearnerProfile` (whose primary key is the user's id, so one id
names the student everywhere). Demographics live in their own table, read only as aggregates.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from .modelbase import GRADE_MAX, GRADE_MIN, PlatformModel, validate_grade


def grade_range_check(field: str, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__gte": GRADE_MIN}) & Q(**{f"{field}__lte": GRADE_MAX}), name=name
    )


class User(AbstractUser):
    """Custom user from the first migration. Role memberships say what the user is, and where."""

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class District(PlatformModel):
    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=50, unique=True)
    # Demographics arrive from a roster feed (OneRoster demographics.csv) only when the district opts in.
    import_demographics = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class School(PlatformModel):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="schools")
    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=50)
    grade_low = models.PositiveSmallIntegerField(default=GRADE_MIN, validators=[validate_grade])
    grade_high = models.PositiveSmallIntegerField(default=GRADE_MAX, validators=[validate_grade])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["district", "code"], name="school_code_unique_in_district"),
            grade_range_check("grade_low", "school_grade_low_range"),
            grade_range_check("grade_high", "school_grade_high_range"),
            models.CheckConstraint(
                condition=Q(grade_low__lte=models.F("grade_high")),
                name="school_grades_ordered",
                violation_error_message="The lowest grade cannot be above the highest grade.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Term(PlatformModel):
    """A school year or a part of one (semester, quarter); parts point at their year."""

    class Kind(models.TextChoices):
        SCHOOL_YEAR = "school_year", "School year"
        SEMESTER = "semester", "Semester"
        TRIMESTER = "trimester", "Trimester"
        QUARTER = "quarter", "Quarter"
        # OneRoster's own session types that match none of the above.
        TERM = "term", "Term"
        GRADING_PERIOD = "grading_period", "Grading period"

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="terms")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="parts")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SCHOOL_YEAR)
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        ordering = ["school", "start_date", "name"]
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="term_name_unique_in_school"),
            models.CheckConstraint(
                condition=Q(start_date__lt=models.F("end_date")),
                name="term_dates_ordered",
                violation_error_message="A term must end after it starts.",
            ),
        ]
        indexes = [models.Index(fields=["school", "start_date", "end_date"], name="term_school_dates_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.school})"


class Holiday(PlatformModel):
    """A weekday without school; school days are the term's weekdays minus these."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["term", "date"], name="holiday_unique_date_in_term")]

    def __str__(self) -> str:
        return f"{self.date}: {self.name}"


class Role(models.TextChoices):
    STUDENT = "student", "Student"
    TEACHER = "teacher", "Teacher"
    PRINCIPAL = "principal", "Principal"
    DISTRICT_ADMIN = "district_admin", "District admin"
    GUARDIAN = "guardian", "Guardian"


class RoleMembership(PlatformModel):
    """A user's role at a school (student, teacher, principal, guardian) or a district (admin)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships")
    district = models.ForeignKey(District, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["user", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "school", "district"],
                name="membership_unique",
                nulls_distinct=False,
            ),
            # A district admin belongs to a district; every other role to a school.
            models.CheckConstraint(
                condition=(Q(role="district_admin") & Q(district__isnull=False) & Q(school__isnull=True))
                | (~Q(role="district_admin") & Q(school__isnull=False) & Q(district__isnull=True)),
                name="membership_scope_matches_role",
            ),
        ]
        indexes = [models.Index(fields=["role", "school"], name="membership_role_school_idx")]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} at {self.school or self.district}"


class Section(PlatformModel):
    """A class: a group of students with their teachers for one term."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="sections")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="sections")
    code = models.CharField(max_length=50)
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=100, blank=True)
    grade_level = models.PositiveSmallIntegerField(validators=[validate_grade])

    class Meta:
        ordering = ["grade_level", "name"]
        constraints = [
            models.UniqueConstraint(fields=["school", "term", "code"], name="section_code_unique_in_term"),
            grade_range_check("grade_level", "section_grade_range"),
        ]
        indexes = [models.Index(fields=["school", "grade_level"], name="section_school_grade_idx")]

    def __str__(self) -> str:
        return self.name


class Enrollment(PlatformModel):
    class Role(models.TextChoices):
        TEACHER = "teacher", "Teacher"
        STUDENT = "student", "Student"

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="enrollments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    role = models.CharField(max_length=10, choices=Role.choices)
    active = models.BooleanField(default=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["section", "role", "user"]
        constraints = [
            models.UniqueConstraint(fields=["section", "user", "role"], name="enrollment_unique"),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(start_date__lte=models.F("end_date")),
                name="enrollment_dates_ordered",
                violation_error_message="An enrollment cannot end before it starts.",
            ),
        ]
        # The access rules ask "which sections does this user teach / sit in" on every request.
        indexes = [models.Index(fields=["user", "role", "active"], name="enrollment_user_role_idx")]

    def __str__(self) -> str:
        return f"{self.user} in {self.section} ({self.role})"


def _lines() -> ArrayField:
    return ArrayField(models.CharField(max_length=200), default=list, blank=True)


class LearnerProfile(PlatformModel):
    """Who the student is as a learner. Deliberately no 'learning style' (the research rejects it)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="learner_profile"
    )
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="learners")
    grade_level = models.PositiveSmallIntegerField(validators=[validate_grade])
    strengths = _lines()
    needs = _lines()
    interests = _lines()
    motivations = _lines()
    accommodations = _lines()
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        constraints = [grade_range_check("grade_level", "learner_grade_range")]
        indexes = [models.Index(fields=["school", "grade_level"], name="learner_school_grade_idx")]

    def __str__(self) -> str:
        return f"Learner profile of {self.user}"


class LearnerProfileChange(PlatformModel):
    """One change of one field of a learner profile: the value before and after, who changed it and when.
    Written by the profile-edit service (profiles.services.learner_profile_update) for every field whose value
    changed; never edited. Values are stored as the field holds them (a list of lines, or the notes' text)."""

    class Field(models.TextChoices):
        STRENGTHS = "strengths", "Strengths"
        NEEDS = "needs", "Needs"
        INTERESTS = "interests", "Interests"
        MOTIVATIONS = "motivations", "Motivations"
        ACCOMMODATIONS = "accommodations", "Accommodations"
        NOTES = "notes", "Notes"

    profile = models.ForeignKey(LearnerProfile, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=20, choices=Field.choices)
    old = models.JSONField(blank=True, default=list)
    new = models.JSONField(blank=True, default=list)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(field__in=["strengths", "needs", "interests", "motivations", "accommodations", "notes"]),
                name="learner_profile_change_field_known",
            )
        ]
        indexes = [models.Index(fields=["profile", "-changed_at"], name="profile_change_profile_at_idx")]

    def __str__(self) -> str:
        return f"{self.get_field_display()} of {self.profile_id} at {self.changed_at:%Y-%m-%d %H:%M}"


class Demographics(PlatformModel):
    """Kept apart from the profile: shown only as aggregates to principals and district admins.

    Race and ethnicity follow OneRoster's flags (a student may have several).
    """

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNSPECIFIED = "unspecified", "Unspecified"

    student = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="demographics"
    )
    sex = models.CharField(max_length=12, choices=Sex.choices, default=Sex.UNSPECIFIED)
    american_indian_or_alaska_native = models.BooleanField(default=False)
    asian = models.BooleanField(default=False)
    black_or_african_american = models.BooleanField(default=False)
    native_hawaiian_or_other_pacific_islander = models.BooleanField(default=False)
    white = models.BooleanField(default=False)
    two_or_more_races = models.BooleanField(default=False)
    hispanic_or_latino = models.BooleanField(default=False)
    english_learner = models.BooleanField(default=False)
    iep = models.BooleanField(default=False)
    section_504 = models.BooleanField(default=False)
    economically_disadvantaged = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "demographics"

    def __str__(self) -> str:
        return f"Demographics #{self.pk}"


class Goal(PlatformModel):
    """A goal a student sets with a teacher."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        MET = "met", "Met"
        NOT_MET = "not_met", "Not met"
        DROPPED = "dropped", "Dropped"

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="goals")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    target_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    conference_notes = models.TextField(blank=True)
    set_with = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="goals_set"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["target_date", "id"]
        indexes = [models.Index(fields=["student", "status"], name="goal_student_status_idx")]

    def __str__(self) -> str:
        return self.title


class GuardianLink(PlatformModel):
    guardian = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="children_links")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guardian_links")
    relationship = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["guardian", "student"], name="guardian_link_unique"),
            models.CheckConstraint(
                condition=~Q(guardian=models.F("student")),
                name="guardian_not_self",
                violation_error_message="A guardian cannot be their own child.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guardian} → {self.student}"


class SourceIdentity(PlatformModel):
    """External system + entity type + external id → a local row. External ids are never keys."""

    system = models.CharField(max_length=100)
    entity_type = models.CharField(max_length=50)
    external_id = models.CharField(max_length=255)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.BigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    # What the source sent that the local row has no column for: `metadata.*` and vendor extension
    # columns, and raw values the row keeps only in a converted form (OneRoster grades as written, "09").
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "source identities"
        constraints = [
            models.UniqueConstraint(fields=["system", "entity_type", "external_id"], name="source_identity_unique")
        ]
        indexes = [models.Index(fields=["content_type", "object_id"], name="source_identity_target_idx")]

    def __str__(self) -> str:
        return f"{self.system}:{self.entity_type}:{self.external_id}"

    def clean(self) -> None:
        if not self.external_id.strip():
            raise ValidationError({"external_id": "An external id cannot be blank."})
