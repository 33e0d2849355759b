from django.urls import path

from postroom.api import views

app_name = "api"

urlpatterns = [
    path("v1/messages", views.send, name="send"),
    path("v1/messages/<str:message_id>", views.message, name="message"),
    path("v1/suppressions", views.suppressions, name="suppressions"),
    path("v1/openapi.json", views.openapi, name="openapi"),
    path("", views.not_found, name="not-found"),
    path("<path:rest>", views.not_found, name="not-found"),
]
