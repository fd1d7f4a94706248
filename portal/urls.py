from django.contrib import admin
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal.converters import IdConverter, SlugConverter
from portal.views import auth, health

# Before any app's patterns are read: every app's URLs may use <id:pk> and <uslug:slug>.
register_converter(IdConverter, "id")
register_converter(SlugConverter, "uslug")

urlpatterns = [
    path("", include("portal.web_urls")),
    path("", include("feedback.urls")),
    path("", include("surveys.urls")),
    path("", include("backlog.urls")),
    # Ahead of Django's own: these also revoke the person's API tokens.
    path("auth/password_change/", auth.PasswordChangeView.as_view(), name="password_change"),
    path(
        "auth/reset/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("auth/", include("django.contrib.auth.urls")),
    path("api/v1/", include("portal.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/password_change/", auth.admin_password_change, name="admin_password_change"),
    path("admin/", admin.site.urls),
]

handler403 = "portal.views.errors.permission_denied"
handler404 = "portal.views.errors.page_not_found"
handler500 = "portal.views.errors.server_error"
