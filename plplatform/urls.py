from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from plplatform.views import health

urlpatterns = [
    path("", include("profiles.urls")),
    path("", include("mastery.urls")),
    path("", include("pathways.urls")),
    path("api/v1/", include("plplatform.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("admin/", admin.site.urls),
    path("healthz/", health, name="health"),
]
