from django.apps import AppConfig


class MasteryConfig(AppConfig):
    name = "mastery"
    default_auto_field = "django.db.models.BigAutoField"
