from django.contrib import admin

from . import models


class PathStepInline(admin.TabularInline):
    model = models.PathStep
    extra = 0
    raw_id_fields = ["competency"]


@admin.register(models.LearningPath)
class LearningPathAdmin(admin.ModelAdmin):
    list_display = ["id", "student", "framework", "term", "start_date", "target_date"]
    list_filter = ["framework", "term"]
    raw_id_fields = ["student", "created_by"]
    inlines = [PathStepInline]


@admin.register(models.PathStep)
class PathStepAdmin(admin.ModelAdmin):
    list_display = ["path", "order", "competency", "state", "reason", "pinned"]
    list_filter = ["state", "reason"]
    raw_id_fields = ["path", "competency"]


@admin.register(models.ChoiceLimits)
class ChoiceLimitsAdmin(admin.ModelAdmin):
    list_display = ["section", "open_ready_steps", "approval_required"]
    raw_id_fields = ["section", "updated_by"]
    filter_horizontal = ["required_first"]


@admin.register(models.Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["title", "review_status", "reviewed_by", "reviewed_at"]
    list_filter = ["review_status"]
    search_fields = ["title"]
    filter_horizontal = ["competencies"]


@admin.register(models.StepChoice)
class StepChoiceAdmin(admin.ModelAdmin):
    list_display = ["step", "activity", "status", "chosen_at"]
    list_filter = ["status"]
    raw_id_fields = ["step", "activity", "decided_by"]


@admin.register(models.PacingAlert)
class PacingAlertAdmin(admin.ModelAdmin):
    list_display = ["student", "kind", "severity", "status", "opened_on"]
    list_filter = ["kind", "status", "severity"]
    raw_id_fields = ["student", "path", "competency", "acknowledged_by"]
