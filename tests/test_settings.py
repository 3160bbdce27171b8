"""Production settings: refuse to start without their variables; pass `check --deploy` with them."""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items() if key not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}}
    base["DJANGO_SETTINGS_MODULE"] = "plplatform.settings.production"
    base.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_its_variables():
    result = run_manage("check", env={"SECRET_KEY": "x" * 60})
    assert result.returncode == 1
    assert "Production settings need these environment variables: DATABASE_URL, ALLOWED_HOSTS" in result.stderr


def this_runs_database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_check_deploy_with_production_values_reports_no_issues():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "SECRET_KEY": "k3Y-" + "a9Zq7Lm2Xw" * 6,
            # The model checks ask the server's version (a column PostgreSQL generates,
            # Competency.deprecated), so the database of this test run.
            "DATABASE_URL": this_runs_database_url(),
            "ALLOWED_HOSTS": "plplatform.example.org",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_the_wsgi_application_freezes_what_it_loaded_at_start_up():
    """In a fresh interpreter (as a gunicorn worker): after the app loads, the start-up objects sit in the
    permanent generation, where the cyclic collector's full collections no longer walk them."""
    script = "import gc, plplatform.wsgi; print(gc.get_freeze_count())"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["DJANGO_SETTINGS_MODULE"] = "plplatform.settings.dev"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert int(result.stdout) > 10_000  # Django, DRF and our modules: about 90,000 objects


def test_collectstatic_takes_plotly_min_js_and_nothing_else_of_the_plotly_package(tmp_path):
    """The dashboard loads plotly.min.js from us; the package's 25 MB of datasets, templates and widget
    bundle stay out of STATIC_ROOT."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["DJANGO_SETTINGS_MODULE"] = "plplatform.settings.dev"
    script = (
        "import django; from django.conf import settings; from django.core.management import call_command; "
        f"django.setup(); settings.STATIC_ROOT = {str(tmp_path)!r}; "
        "call_command('collectstatic', interactive=False, verbosity=0)"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, timeout=300, check=True)
    plotly = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "plotly").rglob("*") if p.is_file())
    # plotly.min.js and the storage's hashed and compressed copies of it, nothing else.
    assert "plotly/plotly.min.js" in plotly
    assert [
        name for name in plotly if not re.fullmatch(r"plotly/plotly\.min(\.[0-9a-f]{12})?\.js(\.gz|\.br)?", name)
    ] == []
    assert (tmp_path / "plotly" / "plotly.min.js").stat().st_size > 3_000_000
    assert (tmp_path / "monitoring" / "dashboard.js").is_file()
