"""Nightly job bookkeeping and equity snapshots."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from profiles.modelbase import PlatformModel
from profiles.models import School


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


class EquitySnapshot(PlatformModel):
    """One night's figures for a school × grade × subgroup cell; a rerun replaces the row.

    `grade` is null for all grades together; `dimension`/`value` are ("all", "all") for all students.
    """

    date = models.DateField()
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="equity_snapshots")
    grade = models.PositiveSmallIntegerField(null=True, blank=True)
    dimension = models.CharField(max_length=40)
    value = models.CharField(max_length=60)
    n_students = models.PositiveIntegerField()
    grade_level_mastered_share = models.FloatField(null=True, blank=True)
    growth_median = models.FloatField(null=True, blank=True)
    growth_distribution = models.JSONField(default=dict, blank=True)
    pacing_distribution = models.JSONField(default=dict, blank=True)
    below_grade_share = models.FloatField(null=True, blank=True)
    grade_level_access_share = models.FloatField(null=True, blank=True)
    open_alerts_per_100 = models.FloatField(null=True, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "school", "grade", "dimension", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "school", "grade", "dimension", "value"],
                nulls_distinct=False,
                name="equity_snapshot_unique_cell",
            ),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{share}__isnull": True}) | (Q(**{f"{share}__gte": 0}) & Q(**{f"{share}__lte": 1})),
                    name=f"snapshot_{share}_range",
                )
                for share in ("grade_level_mastered_share", "below_grade_share", "grade_level_access_share")
            ],
        ]
        indexes = [models.Index(fields=["school", "date"], name="snapshot_school_date_idx")]

    def __str__(self) -> str:
        return f"{self.school} {self.date} {self.dimension}={self.value}"
