"""Nightly job bookkeeping and equity snapshots."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from profiles.modelbase import PlatformModel
from profiles.models import District, School, Section

from .analytics.cells import DIMENSION_VALUES, PACING_KEYS


class JobRun(PlatformModel):
    """One row per job per night (per school): a second beat or a duplicate message cannot run it twice."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    job = models.CharField(max_length=50)
    run_date = models.DateField()
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.CASCADE, related_name="job_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    details = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the run used and did (policy versions, evidence cut-offs, counts). Never personal data.",
    )

    class Meta:
        ordering = ["-run_date", "job"]
        constraints = [
            models.UniqueConstraint(fields=["job", "run_date", "school"], nulls_distinct=False, name="job_run_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.run_date}"


class JobChunk(PlatformModel):
    """A slice of a job's work; its attempt count lives here so redelivery is capped in the database."""

    job_run = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=JobRun.Status.choices, default=JobRun.Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    payload = models.JSONField(default=dict, blank=True, help_text="Ids only, never personal data.")
    rows_written = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["job_run", "index"]
        constraints = [models.UniqueConstraint(fields=["job_run", "index"], name="job_chunk_unique")]

    def __str__(self) -> str:
        return f"Chunk {self.index} of {self.job_run}"


class Dimension(models.TextChoices):
    """Subgroup dimensions of the equity snapshots. Every dimension PARTITIONS the students: each student
    has exactly one value in each, so the values of a dimension add up to the "all" row (which is what
    makes a subtraction attack checkable, and complementary suppression possible)."""

    ALL = "all", "All students"
    SEX = "sex", "Sex"
    RACE_ETHNICITY = "race_ethnicity", "Race/ethnicity"
    ENGLISH_LEARNER = "english_learner", "English learner"
    IEP = "iep", "IEP"
    SECTION_504 = "section_504", "Section 504"
    ECONOMICALLY_DISADVANTAGED = "economically_disadvantaged", "Economically disadvantaged"


# The values of each dimension in display order (DIMENSION_VALUES), and the pacing statuses (PACING_KEYS), are
# defined with the computation in monitoring/analytics/cells.py and re-exported here. race_ethnicity follows
# the federal rule (one value per student): hispanic_or_latino if that flag, else two_or_more_races if that
# flag or more than one race flag, else the single race flag, else not_reported. A student without a
# Demographics row counts as sex unspecified, race not_reported and "no" on every yes/no dimension.
__all__ = [
    "DIMENSION_VALUES",
    "PACING_KEYS",
    "Dimension",
    "EquitySnapshot",
    "ImplementationSnapshot",
    "JobChunk",
    "JobRun",
]


class EquitySnapshot(PlatformModel):
    """One night's equity figures for one cell: district × school × grade × (section) × subgroup.

    The nightly snapshots stage writes them (monitoring/pipeline.py); a rerun of a date replaces that
    date's rows (upsert on the unique key, rows that no longer exist deleted); older dates are history.

    Rows come in three kinds:
    - school rows: `school` set, `section` null; `grade` set (one grade) or null (all grades of the school);
    - district rows: `school` null (the district as a whole), `grade` set or null, `section` null; written
      once every school of the district finished the night, as exact sums of the school rows;
    - section rows: `school` and `section` set, `grade` = the section's grade level, dimension "all" only
      (a section shows aggregates, never demographics). A section row counts every student actively
      enrolled in the section, whatever their own grade; sections overlap, so they add up to nothing.

    Figures are COUNTS so that an all-grades row is the exact sum of its grade rows and a district row the
    exact sum of its school rows; shares are derived (see the properties below).

    SUPPRESSION (DESIGN.md section 4) is decided here, on the server, and stored with the row:
    - `suppressed`: nothing of this row may be shown or exported — no share, no count, no distribution,
      not even `n_students`. Show "suppressed" only.
    - `access_suppressed`: the access-to-grade-level-work share and its counts (`below_grade_count`,
      `access_count`) may not be shown; the rest of the row may (unless `suppressed`). Always true when
      `suppressed` is.
    The stored counts of a suppressed row are TRUE counts, kept because district rows and checks sum
    them; they are for computing only, never for display.
    """

    date = models.DateField(help_text="The night's date (the school day the figures are as of).")
    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="equity_snapshots")
    school = models.ForeignKey(
        School,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="equity_snapshots",
        help_text="Null: the district as a whole (sum of its schools).",
    )
    grade = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="The students' grade level (0 = kindergarten); null: all grades together. "
        "Section rows: the section's grade level.",
    )
    section = models.ForeignKey(
        Section,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="equity_snapshots",
        help_text="Null: not a section row. Section rows have dimension 'all' only.",
    )
    dimension = models.CharField(max_length=40, choices=Dimension.choices, help_text="The subgroup dimension.")
    value = models.CharField(
        max_length=60, help_text="The subgroup within the dimension (DIMENSION_VALUES); 'all' for dimension 'all'."
    )
    n_students = models.PositiveIntegerField(help_text="Students in the cell.")
    grade_level_targets = models.PositiveIntegerField(
        default=0,
        help_text="Sum over the cell's students of their grade-level path targets this term "
        "(steps that are targets for the grade-level reason).",
    )
    grade_level_targets_mastered = models.PositiveIntegerField(
        default=0,
        help_text="Of those targets, how many are mastered now. Share mastered = this / grade_level_targets.",
    )
    growth_distribution = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"<competencies first mastered since the term start>": students}, keys are whole numbers as '
        "strings; sums to n_students.",
    )
    growth_median = models.FloatField(
        null=True, blank=True, help_text="Median of growth over the cell's students (from the distribution)."
    )
    pacing_distribution = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"ahead": n, "on_track": n, "at_risk": n, "off_track": n}: students with a paced path this '
        "term, by their path's pacing status (a student with several paths counts once, at the worst status).",
    )
    below_grade_count = models.PositiveIntegerField(
        default=0,
        help_text="Students working below grade level: with unmastered below-grade competencies on their path. "
        "The denominator of access.",
    )
    access_count = models.PositiveIntegerField(
        default=0,
        help_text="Of below_grade_count, students with grade-level (or higher) evidence or an active grade-level "
        "step in the last GRADE_LEVEL_ACCESS_DAYS school days (access to grade-level work).",
    )
    open_alerts = models.PositiveIntegerField(
        default=0, help_text="Unresolved (open or acknowledged) pacing alerts of the cell's students."
    )
    suppressed = models.BooleanField(
        default=False, help_text="Small cell, or complementary: show nothing of this row (no value, no count)."
    )
    access_suppressed = models.BooleanField(
        default=False,
        help_text="Access figures (below_grade_count, access_count, their share) may not be shown. "
        "True whenever `suppressed` is.",
    )
    computed_at = models.DateTimeField(auto_now=True, help_text="When this row was (re)computed: the 'as of' time.")

    class Meta:
        ordering = ["-date", "school", "grade", "section", "dimension", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "district", "school", "grade", "section", "dimension", "value"],
                nulls_distinct=False,
                name="equity_snapshot_unique_cell",
            ),
            models.CheckConstraint(
                condition=Q(grade_level_targets_mastered__lte=models.F("grade_level_targets")),
                name="equity_snapshot_mastered_within_targets",
            ),
            models.CheckConstraint(
                condition=Q(access_count__lte=models.F("below_grade_count"))
                & Q(below_grade_count__lte=models.F("n_students")),
                name="equity_snapshot_access_within_below_grade",
            ),
            models.CheckConstraint(
                condition=Q(section__isnull=True) | (Q(school__isnull=False) & Q(dimension="all")),
                name="equity_snapshot_section_rows_aggregate",
            ),
            models.CheckConstraint(
                condition=Q(suppressed=False) | Q(access_suppressed=True),
                name="equity_snapshot_suppressed_hides_access",
            ),
        ]
        indexes = [
            models.Index(fields=["school", "date"], name="snapshot_school_date_idx"),
            models.Index(fields=["district", "date"], name="snapshot_district_date_idx"),
        ]

    def __str__(self) -> str:
        where = f"school {self.school_id}" if self.school_id else f"district {self.district_id}"
        return f"{where} {self.date} grade {self.grade} {self.dimension}={self.value}"

    # Derived figures, None when suppressed (or undefined). Pages and exports should use these.

    @property
    def grade_level_mastered_share(self) -> float | None:
        if self.suppressed or not self.grade_level_targets:
            return None
        return self.grade_level_targets_mastered / self.grade_level_targets

    @property
    def below_grade_share(self) -> float | None:
        if self.access_suppressed or not self.n_students:
            return None
        return self.below_grade_count / self.n_students

    @property
    def access_share(self) -> float | None:
        if self.access_suppressed or not self.below_grade_count:
            return None
        return self.access_count / self.below_grade_count

    @property
    def open_alerts_per_100(self) -> float | None:
        if self.suppressed or not self.n_students:
            return None
        return 100 * self.open_alerts / self.n_students


class ImplementationSnapshot(PlatformModel):
    """One night's implementation health for a school (or the district as a whole, or one section).

    Not demographic and not suppressed. Written by the snapshots stage with the equity rows; a rerun of a
    date replaces them. District rows (school null) are the sums of the school rows.
    Evidence per teacher per week = teacher_evidence_week / teachers; share of students with evidence this
    week = students_with_evidence_week / students.
    """

    date = models.DateField(help_text="The night's date.")
    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="implementation_snapshots")
    school = models.ForeignKey(
        School,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="implementation_snapshots",
        help_text="Null: the district as a whole.",
    )
    section = models.ForeignKey(
        Section,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="implementation_snapshots",
        help_text="Null: the whole school (or district).",
    )
    teachers = models.PositiveIntegerField(
        help_text="Teachers: active teacher enrollments in the school's sections of the current term "
        "(the section's teachers for a section row)."
    )
    teacher_evidence_week = models.PositiveIntegerField(
        help_text="Evidence on these students recorded by these teachers in the 7 calendar days ending on `date`."
    )
    students = models.PositiveIntegerField(
        help_text="Students (school: its learner profiles; section: its active student enrollments)."
    )
    students_with_evidence_week = models.PositiveIntegerField(
        help_text="Students with any evidence observed in the 7 calendar days ending on `date`."
    )
    alerts_acknowledged = models.PositiveIntegerField(
        help_text="Alerts of these students acknowledged in the 30 calendar days ending on `date`."
    )
    acknowledge_days_distribution = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"<calendar days from opened_on to acknowledged_at>": alerts} over alerts_acknowledged.',
    )
    acknowledge_days_median = models.FloatField(
        null=True, blank=True, help_text="Median days to acknowledge an alert; null when none was acknowledged."
    )
    computed_at = models.DateTimeField(auto_now=True, help_text="When this row was (re)computed.")

    class Meta:
        ordering = ["-date", "school", "section"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "district", "school", "section"],
                nulls_distinct=False,
                name="implementation_snapshot_unique",
            ),
            models.CheckConstraint(
                condition=Q(students_with_evidence_week__lte=models.F("students")),
                name="implementation_snapshot_students_with_evidence",
            ),
            models.CheckConstraint(
                condition=Q(section__isnull=True) | Q(school__isnull=False),
                name="implementation_snapshot_section_in_school",
            ),
        ]
        indexes = [models.Index(fields=["district", "date"], name="impl_district_date_idx")]

    def __str__(self) -> str:
        return f"Implementation {self.date} school {self.school_id} section {self.section_id}"

    @property
    def evidence_per_teacher_week(self) -> float | None:
        return self.teacher_evidence_week / self.teachers if self.teachers else None

    @property
    def students_with_evidence_share(self) -> float | None:
        return self.students_with_evidence_week / self.students if self.students else None


# The stored figures of a snapshot row, in model order: what the snapshots stage computes and upserts and what
# readers and the benchmark's loader name. The natural key (the unique constraint's fields) and `computed_at`
# are not figures.
EQUITY_FIGURES: tuple[str, ...] = (
    "n_students",
    "grade_level_targets",
    "grade_level_targets_mastered",
    "growth_distribution",
    "growth_median",
    "pacing_distribution",
    "below_grade_count",
    "access_count",
    "open_alerts",
    "suppressed",
    "access_suppressed",
)
IMPLEMENTATION_FIGURES: tuple[str, ...] = (
    "teachers",
    "teacher_evidence_week",
    "students",
    "students_with_evidence_week",
    "alerts_acknowledged",
    "acknowledge_days_distribution",
    "acknowledge_days_median",
)
