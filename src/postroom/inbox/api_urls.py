from django.urls import path

from postroom.inbox import api

app_name = "inbox-api"

urlpatterns = [
    path("messages", api.messages, name="messages"),
    path("messages/<int:pk>", api.message, name="message"),
    path("messages/<int:pk>/source", api.source, name="source"),
    path("messages/<int:pk>/attachments/<int:index>", api.attachment, name="attachment"),
    path("wait", api.wait, name="wait"),
    path("openapi.json", api.openapi, name="openapi"),
    path("<path:rest>", api.not_found, name="not-found"),
]
