from django.urls import path

from postroom.health import views

app_name = "health"

urlpatterns = [
    path("", views.index, name="index"),
    path("run/", views.run, name="run"),
    path("try/", views.try_settings, name="try-settings"),
    path("checks.json", views.checks_json, name="checks-json"),
    path("help/", views.help_page, name="help"),
    path("actions/<slug:check_id>/<slug:action_id>/", views.action, name="action"),
]
