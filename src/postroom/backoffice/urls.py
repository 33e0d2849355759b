from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from postroom.backoffice import views
from postroom.backoffice.metrics import metrics

app_name = "backoffice"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("settings/", views.settings_page, name="settings"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    # Browsers ask for /favicon.ico whatever the page links to; answer with the one icon.
    path(
        "favicon.ico",
        RedirectView.as_view(url=static("postroom/favicon.svg"), permanent=True),
        name="favicon",
    ),
]
