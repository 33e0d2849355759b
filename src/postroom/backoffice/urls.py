from django.urls import path

from postroom.backoffice import views
from postroom.backoffice.metrics import metrics

app_name = "backoffice"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("settings/", views.settings_page, name="settings"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
]
