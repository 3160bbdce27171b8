from django.contrib import admin

from . import models


@admin.register(models.Framework)
class FrameworkAdmin(admin.ModelAdmin):
    list_display = ["name", "subject", "grade_low", "grade_high", "source_identifier"]
    search_fields = ["name"]


class PrerequisiteInline(admin.TabularInline):
    model = models.Prerequisite
    fk_name = "competency"
    extra = 0
    autocomplete_fields = ["prerequisite"]


@admin.register(models.Competency)
class CompetencyAdmin(admin.ModelAdmin):
    list_display = ["code", "statement", "framework", "grade_level", "assessable", "deprecated"]
    list_filter = ["framework", "grade_level", "assessable", "deprecated"]
    search_fields = ["code", "statement"]
    autocomplete_fields = ["parent"]
    inlines = [PrerequisiteInline]


@admin.register(models.Prerequisite)
class PrerequisiteAdmin(admin.ModelAdmin):
    list_display = ["prerequisite", "competency"]
    autocomplete_fields = ["competency", "prerequisite"]


@admin.register(models.MasteryPolicy)
class MasteryPolicyAdmin(admin.ModelAdmin):
    list_display = ["framework", "version", "method", "created_at"]
    list_filter = ["method"]


@admin.register(models.Evidence)
class EvidenceAdmin(admin.ModelAdmin):
    list_display = ["id", "student", "competency", "kind", "score", "rating", "source", "observed_at"]
    list_filter = ["kind", "source"]
    raw_id_fields = ["student", "competency", "recorded_by"]
    date_hierarchy = "observed_at"

    # Evidence is append-only: the admin may add and read, never edit or delete.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.MasteryState)
class MasteryStateAdmin(admin.ModelAdmin):
    list_display = ["student", "competency", "status", "override_status", "estimate", "evidence_count"]
    list_filter = ["status", "override_status"]
    raw_id_fields = ["student", "competency", "override_by", "policy"]


@admin.register(models.ToolCredential)
class ToolCredentialAdmin(admin.ModelAdmin):
    """Credentials are made with `manage.py create_tool_credential` (which shows the secret once); here an
    admin reads them and turns them off."""

    list_display = ["name", "source", "key", "active", "school", "district", "created_by", "created_at"]
    list_filter = ["active"]
    fields = ["name", "source", "key", "active", "school", "district", "created_by", "created_at"]
    readonly_fields = ["name", "source", "key", "school", "district", "created_by", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(models.UnmatchedStatement)
class UnmatchedStatementAdmin(admin.ModelAdmin):
    """What tools sent about people or activities not mapped yet (read only). Mapping and replay: the district
    admin's page /districts/<id>/unmatched/, or `manage.py map_unmatched_statement ID --student USER_ID
    --competency COMPETENCY_ID`."""

    list_display = ["id", "tool", "format", "statement_id", "reason", "activity", "created_at", "resolved_at"]
    list_filter = ["tool", "format", "reason"]
    readonly_fields = [field.name for field in models.UnmatchedStatement._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
