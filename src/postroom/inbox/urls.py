from django.urls import path

from postroom.inbox import views

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
]
