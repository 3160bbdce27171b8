"""Learning paths and their steps, teacher limits on choice, activities, pacing alerts."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from mastery.models import Competency, Framework
from profiles.modelbase import PlatformModel
from profiles.models import Section, Term


class PacingStatus(models.TextChoices):
    AHEAD = "ahead", "Ahead"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"


class LearningPath(PlatformModel):
    """A student's path through one framework in one term, with a target date (flexible pacing)."""

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learning_paths")
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="paths")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="paths")
    start_date = models.DateField()
    target_date = models.DateField()
    targets_mastered_at_start = models.PositiveIntegerField(default=0, help_text="A0 in the pacing formula.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    chosen_target_ids = ArrayField(
        models.BigIntegerField(),
        default=list,
        blank=True,
        help_text="Competencies a teacher chose as targets; empty means the grade-level ones of the student's grade.",
    )
    # Pacing as of the school day `pacing_on` (DESIGN.md section 4), written by the nightly run.
    pacing_on = models.DateField(null=True, blank=True)
    pacing_status = models.CharField(max_length=10, choices=PacingStatus.choices, blank=True)
    pacing = models.JSONField(default=dict, blank=True, help_text="The figures behind pacing_status.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "framework", "term"], name="path_unique_per_term"),
            models.CheckConstraint(
                condition=Q(start_date__lt=models.F("target_date")),
                name="path_dates_ordered",
                violation_error_message="The target date must come after the start date.",
            ),
        ]

    def __str__(self) -> str:
        return f"Path #{self.pk} ({self.framework})"


class PathStep(PlatformModel):
    class State(models.TextChoices):
        LOCKED = "locked", "Locked"
        READY = "ready", "Ready"
        IN_PROGRESS = "in_progress", "In progress"
        MASTERED = "mastered", "Mastered"
        SKIPPED = "skipped", "Skipped"

    class Reason(models.TextChoices):
        GRADE_LEVEL_TARGET = "grade_level_target", "Grade-level target"
        GAP_FILLING = "gap_filling", "Gap-filling prerequisite"
        TEACHER_ADDED = "teacher_added", "Added by a teacher"

    path = models.ForeignKey(LearningPath, on_delete=models.CASCADE, related_name="steps")
    competency = models.ForeignKey(Competency, on_delete=models.PROTECT, related_name="path_steps")
    order = models.PositiveIntegerField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.LOCKED)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    is_target = models.BooleanField(default=True, help_text="Counts toward the path's target set T.")
    pinned = models.BooleanField(default=False, help_text="Required by the teacher before free choice.")
    skip_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["path", "order"]
        constraints = [
            models.UniqueConstraint(fields=["path", "competency"], name="step_competency_unique_in_path"),
            models.UniqueConstraint(
                fields=["path", "order"],
                name="step_order_unique_in_path",
                deferrable=models.Deferrable.DEFERRED,  # reordering swaps positions in one transaction
            ),
            models.CheckConstraint(condition=~Q(state="skipped") | ~Q(skip_reason=""), name="step_skip_has_reason"),
        ]
        indexes = [models.Index(fields=["path", "state"], name="step_path_state_idx")]

    def __str__(self) -> str:
        return f"Step {self.order} of path #{self.path_id}"


class ChoiceLimits(PlatformModel):
    """The limits a teacher sets on students' choice in a section (choice within limits)."""

    section = models.OneToOneField(Section, on_delete=models.CASCADE, related_name="choice_limits")
    open_ready_steps = models.PositiveSmallIntegerField(default=3, help_text="Ready steps a student may choose from.")
    required_first = models.ManyToManyField(Competency, blank=True, related_name="+")
    approval_required = models.BooleanField(default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "choice limits"
        constraints = [
            models.CheckConstraint(
                condition=Q(open_ready_steps__gte=1) & Q(open_ready_steps__lte=20), name="choice_open_steps_range"
            )
        ]

    def __str__(self) -> str:
        return f"Choice limits for {self.section}"


class Activity(PlatformModel):
    """Instructional material linked to competencies; only approved material is offered."""

    class Review(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    url = models.URLField(blank=True)
    competencies = models.ManyToManyField(Competency, related_name="activities")
    review_status = models.CharField(max_length=10, choices=Review.choices, default=Review.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "activities"
        constraints = [
            models.CheckConstraint(
                condition=Q(review_status="pending") | (Q(reviewed_by__isnull=False) & Q(reviewed_at__isnull=False)),
                name="activity_review_has_reviewer",
            )
        ]

    def __str__(self) -> str:
        return self.title


class StepChoice(PlatformModel):
    """A student's choice of what to work on next, and with which activity."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        REPLACED = "replaced", "Replaced by a newer choice"  # a pending choice the student changed

    step = models.ForeignKey(PathStep, on_delete=models.CASCADE, related_name="choices")
    activity = models.ForeignKey(Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.APPROVED)
    chosen_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, help_text="The teacher's word to the student on the decision.")

    class Meta:
        ordering = ["-chosen_at"]

    def __str__(self) -> str:
        return f"Choice of step #{self.step_id}"


class PacingAlert(PlatformModel):
    class Kind(models.TextChoices):
        BEHIND_PACE = "behind_pace", "Behind pace"
        STUCK = "stuck", "Stuck"
        INACTIVE = "inactive", "Inactive"
        HELD_BACK = "held_back", "Held back from grade-level work"
        AVOIDING = "avoiding", "Avoiding challenge"
        NEEDS_REVIEW = "needs_review", "Needs review"

    class Severity(models.IntegerChoices):
        LOW = 1, "Low"
        MEDIUM = 2, "Medium"
        HIGH = 3, "High"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    path = models.ForeignKey(LearningPath, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    competency = models.ForeignKey(Competency, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=15, choices=Kind.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    numbers = models.JSONField(default=dict, help_text="The figures that raised the alert.")
    reason = models.TextField(help_text="Plain-language reason, for teachers.")
    opened_on = models.DateField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-severity", "opened_on"]
        constraints = [
            # A rerun never duplicates an alert that is still open or acknowledged.
            models.UniqueConstraint(
                fields=["student", "kind", "path", "competency"],
                condition=~Q(status="resolved"),
                nulls_distinct=False,
                name="alert_one_unresolved_per_condition",
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved") | Q(resolved_on__isnull=False), name="alert_resolved_has_date"
            ),
        ]
        indexes = [models.Index(fields=["student", "status"], name="alert_student_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} alert #{self.pk}"


class AlertCondition(PlatformModel):
    """What the nightly run last saw of one alert condition, so that an alert opens only after the
    condition held on two nightly runs of consecutive school days and resolves only after it cleared
    on two. A row exists while a condition holds, or while it has cleared but its alert is unresolved."""

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=15, choices=PacingAlert.Kind.choices)
    path = models.ForeignKey(LearningPath, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    competency = models.ForeignKey(Competency, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    holding = models.BooleanField()
    streak = models.PositiveSmallIntegerField(help_text="Consecutive school days with this value of `holding`.")
    evaluated_on = models.DateField(help_text="The school day last evaluated.")
    numbers = models.JSONField(default=dict, blank=True)
    alert = models.ForeignKey(PacingAlert, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["student", "kind", "path", "competency"], nulls_distinct=False, name="alert_condition_unique"
            ),
            models.CheckConstraint(condition=Q(streak__gte=1), name="alert_condition_streak_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of student {self.student_id}: {'holds' if self.holding else 'clear'} x{self.streak}"


# --- small-group sessions (the teacher's workspace) ------------------------------------------------------


class SmallGroupSession(PlatformModel):
    """A small-group session a teacher plans for some students of one section on one competency, often from
    a suggestion (pathways/workspace_selectors.py). After the session the teacher records one 1-4 rating
    per student; each becomes Evidence (source "small-group", external id "session-<id>-<student id>")."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        DONE = "done", "Done: ratings recorded"
        CANCELLED = "cancelled", "Cancelled"

    class Origin(models.TextChoices):
        STUCK = "stuck", "Stuck on the same competency"
        READY = "ready", "Ready for the same next competency"
        HELD_BACK = "held_back", "Held back from the same grade-level competency"
        TEACHER = "teacher", "Chosen by the teacher"

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="small_group_sessions")
    competency = models.ForeignKey(Competency, on_delete=models.PROTECT, related_name="+")
    planned_for = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.TEACHER)
    why = models.TextField(blank=True, help_text="Why these students are together (the suggestion's sentence).")
    note = models.TextField(blank=True)
    materials = models.ManyToManyField(Activity, blank=True, related_name="small_group_sessions")
    created_at = models.DateTimeField(auto_now_add=True)
    rated_at = models.DateTimeField(null=True, blank=True, help_text="When ratings were last recorded.")

    class Meta:
        ordering = ["planned_for", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["planned", "done", "cancelled"]), name="small_group_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(origin__in=["stuck", "ready", "held_back", "teacher"]), name="small_group_origin_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(rated_at__isnull=False), name="small_group_done_has_ratings"
            ),
        ]
        indexes = [models.Index(fields=["section", "status", "planned_for"], name="small_group_section_idx")]

    def __str__(self) -> str:
        return f"Small-group session #{self.pk}"


class SmallGroupMember(PlatformModel):
    """A student in a small-group session (once each)."""

    session = models.ForeignKey(SmallGroupSession, on_delete=models.CASCADE, related_name="members")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["session", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["session", "student"], name="small_group_member_once"),
        ]

    def __str__(self) -> str:
        return f"Student {self.student_id} in session #{self.session_id}"
