# Image for web, worker and beat (docker-compose.yml). Production settings by default.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=plplatform.settings.production

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic needs settings but no database; throwaway values satisfy the production check.
RUN SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

RUN useradd --create-home --uid 10001 plplatform && chown -R plplatform /app
USER plplatform
EXPOSE 8000
CMD ["gunicorn", "plplatform.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
