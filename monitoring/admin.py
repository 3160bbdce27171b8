from django.contrib import admin

from . import models


class JobChunkInline(admin.TabularInline):
    model = models.JobChunk
    extra = 0


@admin.register(models.JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["job", "run_date", "school", "status", "started_at", "finished_at"]
    list_filter = ["job", "status"]
    inlines = [JobChunkInline]


@admin.register(models.JobChunk)
class JobChunkAdmin(admin.ModelAdmin):
    list_display = ["job_run", "index", "status", "attempts"]
    list_filter = ["status"]


@admin.register(models.EquitySnapshot)
class EquitySnapshotAdmin(admin.ModelAdmin):
    list_display = ["date", "school", "grade", "dimension", "value", "n_students"]
    list_filter = ["school", "dimension", "date"]
