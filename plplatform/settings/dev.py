"""Development settings: the `make run` default. DEBUG on unless told otherwise, and an embedded
PostgreSQL when DATABASE_URL is unset, so every `manage.py` command finds the same database."""

from __future__ import annotations

import dj_database_url

from plplatform.embedded_db import embedded_database_url

from .base import *  # noqa: F403
from .base import BASE_DIR, env, env_bool, env_list

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])

DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL") or embedded_database_url(BASE_DIR), conn_max_age=60)}

# Static files straight from the apps while developing (no collectstatic needed, no STATIC_ROOT).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
