from django.urls import path, re_path

from postroom.api import views

app_name = "api"

urlpatterns = [
    path("v1/messages", views.send, name="send"),
    path("v1/messages/<str:message_id>", views.message, name="message"),
    path("v1/openapi.json", views.openapi, name="openapi"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
