"""Production settings: refuse to start without the variables a real deployment needs."""

from __future__ import annotations

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, env_bool, env_int, env_list

_missing = [name for name in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS") if not env(name)]
if _missing:
    raise ImproperlyConfigured(
        "Production settings need these environment variables: " + ", ".join(_missing) + " (see .env.example)"
    )

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY") or ""
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL") or "", conn_max_age=60, conn_health_checks=True)}

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
