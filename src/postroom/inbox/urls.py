from django.urls import path

from postroom.inbox import checks, token_views, views

app_name = "inbox"

urlpatterns = [
    path("", views.message_list, name="list"),
    path("table/", views.table, name="table"),
    path("poll/", views.poll, name="poll"),
    path("clear/", views.clear, name="clear"),
    path("selected/", views.bulk, name="bulk"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/html/", views.html_body, name="html"),
    path("<int:pk>/source.eml", views.source, name="source"),
    path("<int:pk>/attachments/<int:index>/", views.attachment, name="attachment"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("tokens/", token_views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", token_views.revoke, name="token-revoke"),
    path("<int:pk>/checks/", checks.checks, name="checks"),
    path("<int:pk>/release/", checks.release, name="release"),
]
