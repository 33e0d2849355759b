from django.urls import path

from postroom.events import screens, views

app_name = "events"

urlpatterns = [
    path("unmatched/", screens.unmatched, name="unmatched"),
    path("<slug:provider>/", views.webhook, name="webhook"),
]
