"""Frameworks, competencies, the prerequisite graph, evidence, mastery policies and states."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from profiles.modelbase import PlatformModel, validate_grade
from profiles.models import grade_range_check


class Framework(PlatformModel):
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=100)
    grade_low = models.PositiveSmallIntegerField(validators=[validate_grade])
    grade_high = models.PositiveSmallIntegerField(validators=[validate_grade])
    source_identifier = models.CharField(max_length=255, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["subject", "name"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "name"], name="framework_name_unique_in_subject"),
            grade_range_check("grade_low", "framework_grade_low_range"),
            grade_range_check("grade_high", "framework_grade_high_range"),
            models.CheckConstraint(
                condition=Q(grade_low__lte=models.F("grade_high")),
                name="framework_grades_ordered",
                violation_error_message="The lowest grade cannot be above the highest grade.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Competency(PlatformModel):
    """A competency in a framework's hierarchy. Strands and clusters are competencies with children."""

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="competencies")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    code = models.CharField(max_length=100)
    statement = models.TextField()
    grade_level = models.PositiveSmallIntegerField(validators=[validate_grade])
    sort_order = models.PositiveIntegerField(default=0)
    assessable = models.BooleanField(default=True, help_text="False for strands and clusters that only group.")
    source_identifier = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # When an import last found the item gone from its framework's source (kept, with its evidence).
    deprecated_at = models.DateTimeField(null=True, blank=True)
    # Whether it is deprecated, kept by PostgreSQL from deprecated_at (one fact, stored once): the many queries
    # that leave deprecated competencies out filter on a plain boolean column.
    deprecated = models.GeneratedField(
        expression=models.ExpressionWrapper(Q(deprecated_at__isnull=False), output_field=models.BooleanField()),
        output_field=models.BooleanField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["framework", "grade_level", "sort_order", "code"]
        verbose_name_plural = "competencies"
        constraints = [
            models.UniqueConstraint(fields=["framework", "code"], name="competency_code_unique_in_framework"),
            grade_range_check("grade_level", "competency_grade_range"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="competency_not_own_parent"),
        ]
        indexes = [models.Index(fields=["framework", "grade_level"], name="competency_framework_grade_idx")]

    def __str__(self) -> str:
        return f"{self.code}: {self.statement[:60]}"


class PrerequisiteCycleError(ValidationError):
    """Raised when a new prerequisite edge would close a cycle in the graph."""


class Prerequisite(PlatformModel):
    """`prerequisite` must be mastered before `competency`. The edges form a DAG."""

    competency = models.ForeignKey(Competency, on_delete=models.CASCADE, related_name="prerequisite_edges")
    prerequisite = models.ForeignKey(Competency, on_delete=models.CASCADE, related_name="dependent_edges")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["competency", "prerequisite"], name="prerequisite_edge_unique"),
            models.CheckConstraint(
                condition=~Q(competency=models.F("prerequisite")),
                name="prerequisite_not_self",
                violation_error_message="A competency cannot be its own prerequisite.",
            ),
        ]
        indexes = [models.Index(fields=["prerequisite"], name="prerequisite_reverse_idx")]

    def __str__(self) -> str:
        return f"{self.prerequisite.code} → {self.competency.code}"

    def clean(self) -> None:
        # Imported here: selectors read models, so the model module cannot import them at load time.
        from mastery.selectors import prerequisite_cycle_path

        if self.competency_id is None or self.prerequisite_id is None:
            return
        if self.competency_id == self.prerequisite_id:
            raise PrerequisiteCycleError(
                {"prerequisite": f"{self.competency.code} cannot be a prerequisite of itself."}
            )
        cycle = prerequisite_cycle_path(competency_id=self.competency_id, prerequisite_id=self.prerequisite_id)
        if cycle:
            raise PrerequisiteCycleError(
                {
                    "prerequisite": (
                        f"Making {self.prerequisite.code} a prerequisite of {self.competency.code} would create "
                        f"a cycle ({' needs '.join(cycle)})."
                    )
                }
            )


class CompetencyAlias(PlatformModel):
    """Another identifier for the same competency: a CASE `exactMatchOf` target (for example the
    CCSS item a district's own standard restates). Indexed so a tool that names the other identifier can be
    matched to the competency; today only the CASE export reads aliases."""

    competency = models.ForeignKey(Competency, on_delete=models.CASCADE, related_name="aliases")
    identifier = models.CharField(max_length=255)
    uri = models.CharField(max_length=2000, blank=True)
    # The CASE association that said so, kept so an export gives the same identifier back.
    association_identifier = models.CharField(max_length=255, null=True, blank=True, unique=True)

    class Meta:
        verbose_name_plural = "competency aliases"
        constraints = [
            models.UniqueConstraint(fields=["competency", "identifier"], name="competency_alias_unique"),
        ]
        indexes = [models.Index(fields=["identifier"], name="competency_alias_ident_idx")]

    def __str__(self) -> str:
        return f"{self.competency.code} = {self.identifier}"


class UnresolvedAssociation(PlatformModel):
    """A CASE association (a `precedes`) whose other end is in no loaded framework yet. Kept with both
    identifiers; an import that brings the missing end turns it into a prerequisite edge and deletes it."""

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="unresolved_associations")
    association_identifier = models.CharField(max_length=255, unique=True)
    association_type = models.CharField(max_length=50)
    origin_identifier = models.CharField(max_length=255)
    origin_uri = models.CharField(max_length=2000, blank=True)
    destination_identifier = models.CharField(max_length=255)
    destination_uri = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["origin_identifier"], name="unresolved_origin_idx"),
            models.Index(fields=["destination_identifier"], name="unresolved_destination_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.origin_identifier} {self.association_type} {self.destination_identifier}"


class MasteryMethod(models.TextChoices):
    BKT = "bkt", "Bayesian Knowledge Tracing"
    DECAYING_AVERAGE = "decaying_average", "Decaying average"
    N_TIMES = "n_times", "N times at the standard"
    MOST_RECENT = "most_recent", "Most recent rating"
    HIGHEST = "highest", "Highest rating"
    MEAN = "mean", "Mean rating"


class MasteryPolicy(PlatformModel):
    """How a framework decides mastery. Versioned: a change makes a new row, never an edit."""

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="policies")
    version = models.PositiveIntegerField()
    method = models.CharField(max_length=20, choices=MasteryMethod.choices, default=MasteryMethod.BKT)
    parameters = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["framework", "-version"]
        verbose_name_plural = "mastery policies"
        constraints = [
            models.UniqueConstraint(fields=["framework", "version"], name="policy_version_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="policy_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.framework} v{self.version} ({self.get_method_display()})"


class EvidenceQuerySet(models.QuerySet["Evidence"]):
    def counted(self) -> EvidenceQuerySet:
        """Evidence that counts: everything its source has not withdrawn (voided). Mastery, pacing, alerts
        and the equity figures read only these; the row itself stays, for provenance and the timeline."""
        return self.filter(voided_at__isnull=True)


class Evidence(PlatformModel):
    """One observation of a student on a competency. Append-only; (source, external_id) is unique."""

    class Kind(models.TextChoices):
        SCORE = "score", "Scored response"
        RATING = "rating", "Teacher rating (1–4)"
        COMPLETION = "completion", "Activity completion"

    # No single-column indexes: evidence_student_comp_idx and evidence_competency_idx below lead with these
    # columns and serve every lookup by them; two fewer indexes to maintain per row makes ingest faster.
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="evidence", db_index=False
    )
    competency = models.ForeignKey(Competency, on_delete=models.PROTECT, related_name="evidence", db_index=False)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    observed_at = models.DateTimeField()
    score = models.FloatField(null=True, blank=True, help_text="Normalized to [0, 1].")
    rating = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1–4 rubric rating.")
    source = models.CharField(max_length=100, default="manual")
    external_id = models.CharField(max_length=255, null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="evidence_recorded"
    )
    note = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the source withdrew the observation (an xAPI voiding statement). The row stays (append-only,
    # provenance), but nothing counts it from then on (`Evidence.objects.counted()`, and `voided_at IS NULL`
    # in the raw SQL of mastery, pacing and the equity figures).
    voided_at = models.DateTimeField(null=True, blank=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["observed_at", "id"]
        verbose_name_plural = "evidence"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(external_id__isnull=False),
                name="evidence_external_id_unique_per_source",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=1)), name="evidence_score_range"
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | (Q(rating__gte=1) & Q(rating__lte=4)),
                name="evidence_rating_range",
            ),
            models.CheckConstraint(
                condition=(Q(kind="score") & Q(score__isnull=False))
                | (Q(kind="rating") & Q(rating__isnull=False))
                | Q(kind="completion"),
                name="evidence_kind_has_value",
            ),
        ]
        indexes = [
            models.Index(fields=["student", "competency", "observed_at"], name="evidence_student_comp_idx"),
            models.Index(fields=["competency", "observed_at"], name="evidence_competency_idx"),
            # The nightly run picks up what arrived since the last run.
            models.Index(fields=["created_at"], name="evidence_created_idx"),
            # ... and what was voided since: few rows, so a partial index keeps that probe cheap.
            models.Index(fields=["voided_at"], name="evidence_voided_idx", condition=Q(voided_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"Evidence #{self.pk}"


class MasteryStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    MASTERED = "mastered", "Mastered"
    NEEDS_REVIEW = "needs_review", "Needs review"


class MasteryState(PlatformModel):
    """One row per student × competency: what the policy concluded, and any teacher override."""

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mastery_states")
    competency = models.ForeignKey(Competency, on_delete=models.CASCADE, related_name="states")
    status = models.CharField(max_length=12, choices=MasteryStatus.choices, default=MasteryStatus.NOT_STARTED)
    estimate = models.FloatField(null=True, blank=True)
    evidence_count = models.PositiveIntegerField(default=0)
    first_mastered_at = models.DateTimeField(null=True, blank=True)
    last_evidence_at = models.DateTimeField(null=True, blank=True)
    policy = models.ForeignKey(MasteryPolicy, null=True, blank=True, on_delete=models.PROTECT)
    override_status = models.CharField(max_length=12, choices=MasteryStatus.choices, null=True, blank=True)
    override_note = models.TextField(blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    override_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "competency"], name="mastery_state_unique"),
            models.CheckConstraint(
                condition=Q(estimate__isnull=True) | (Q(estimate__gte=0) & Q(estimate__lte=1)),
                name="mastery_estimate_range",
            ),
            # An override always carries its reason, author and time.
            models.CheckConstraint(
                condition=Q(override_status__isnull=True)
                | (~Q(override_note="") & Q(override_by__isnull=False) & Q(override_at__isnull=False)),
                name="mastery_override_explained",
            ),
        ]
        indexes = [models.Index(fields=["competency", "status"], name="mastery_competency_status_idx")]

    def __str__(self) -> str:
        return f"{self.student_id} × {self.competency_id}: {self.effective_status}"

    @property
    def effective_status(self) -> str:
        return self.override_status or self.status


class ToolCredential(PlatformModel):
    """A learning tool allowed to send evidence (xAPI statements, Caliper events) with HTTP Basic auth.

    Its evidence is stored under `source`, and only for students of its school or district. The secret is
    kept as a password hash (Django's hashers), shown once when the credential is made.
    """

    name = models.CharField(max_length=100, unique=True)
    source = models.CharField(max_length=100, unique=True, help_text="Evidence source of what this tool sends.")
    key = models.CharField(max_length=64, unique=True)
    secret_hash = models.CharField(max_length=255)
    active = models.BooleanField(default=True)
    school = models.ForeignKey("profiles.School", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey("profiles.District", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(school__isnull=False, district__isnull=True)
                | Q(school__isnull=True, district__isnull=False),
                name="tool_credential_one_scope",
                violation_error_message="A tool writes for one school or one district.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class UnmatchedStatement(PlatformModel):
    """A statement or event a tool sent that names a person or an activity we cannot map yet. Kept whole
    (never dropped) until an admin maps its person/activity and replays it (`resolved_at` then set)."""

    class Format(models.TextChoices):
        XAPI = "xapi", "xAPI statement"
        CALIPER = "caliper", "Caliper event"

    tool = models.ForeignKey(ToolCredential, on_delete=models.PROTECT, related_name="unmatched")
    format = models.CharField(max_length=10, choices=Format.choices)
    statement_id = models.CharField(max_length=255)
    statement = models.JSONField()
    reason = models.CharField(max_length=200)
    # The identifiers that did not map, as the tool wrote them (what an admin maps).
    person = models.CharField(max_length=255, blank=True)
    activity = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tool", "statement_id"], name="unmatched_statement_unique_per_tool"),
        ]
        indexes = [
            models.Index(
                fields=["tool", "created_at"], name="unmatched_open_idx", condition=Q(resolved_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.tool}: {self.statement_id} ({self.reason})"
