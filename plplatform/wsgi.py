"""WSGI entry point. Deployments run with production settings unless told otherwise."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plplatform.settings.production")

application = get_wsgi_application()
