from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from . import models


class RoleMembershipInline(admin.TabularInline):
    model = models.RoleMembership
    extra = 0
    autocomplete_fields = ["school", "district"]


@admin.register(models.User)
class UserAdmin(BaseUserAdmin):
    inlines = [RoleMembershipInline]
    list_display = ["username", "first_name", "last_name", "is_active", "is_staff"]


@admin.register(models.District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


@admin.register(models.School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "district", "grade_low", "grade_high"]
    list_filter = ["district"]
    search_fields = ["name", "code"]


class HolidayInline(admin.TabularInline):
    model = models.Holiday
    extra = 0


@admin.register(models.Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ["name", "school", "kind", "start_date", "end_date"]
    list_filter = ["kind", "school"]
    inlines = [HolidayInline]


@admin.register(models.Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "term"]
    list_filter = ["term__school"]


@admin.register(models.RoleMembership)
class RoleMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "school", "district", "active"]
    list_filter = ["role", "active"]
    search_fields = ["user__username", "user__last_name"]
    raw_id_fields = ["user"]


class EnrollmentInline(admin.TabularInline):
    model = models.Enrollment
    extra = 0
    raw_id_fields = ["user"]


@admin.register(models.Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "school", "term", "grade_level"]
    list_filter = ["school", "grade_level"]
    search_fields = ["name", "code"]
    inlines = [EnrollmentInline]


@admin.register(models.Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["user", "section", "role", "active"]
    list_filter = ["role", "active"]
    raw_id_fields = ["user", "section"]


@admin.register(models.LearnerProfile)
class LearnerProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "school", "grade_level", "updated_at"]
    list_filter = ["school", "grade_level"]
    search_fields = ["user__username", "user__last_name"]
    raw_id_fields = ["user"]


@admin.register(models.Demographics)
class DemographicsAdmin(admin.ModelAdmin):
    list_display = ["student", "sex", "english_learner", "iep", "section_504", "economically_disadvantaged"]
    raw_id_fields = ["student"]


@admin.register(models.Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = ["title", "student", "target_date", "status"]
    list_filter = ["status"]
    raw_id_fields = ["student", "set_with"]


@admin.register(models.GuardianLink)
class GuardianLinkAdmin(admin.ModelAdmin):
    list_display = ["guardian", "student", "relationship"]
    raw_id_fields = ["guardian", "student"]


@admin.register(models.SourceIdentity)
class SourceIdentityAdmin(admin.ModelAdmin):
    list_display = ["system", "entity_type", "external_id", "content_type", "object_id"]
    list_filter = ["system", "entity_type"]
    search_fields = ["external_id"]
