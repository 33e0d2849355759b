from django.urls import path

from postroom.delivery import logviews, views

app_name = "delivery"

urlpatterns = [
    path("", views.message_log, name="log"),
    path("bulk/", views.bulk, name="bulk"),
    path("rows/", views.rows, name="rows"),
    path("export.csv", logviews.export, name="export"),
    path("<int:pk>/", views.message_detail, name="message"),
    path("<int:pk>/status.json", views.message_status, name="message-status"),
    path("<int:pk>/html/", views.html_body, name="html"),
    path("<int:pk>/source.eml", views.source, name="source"),
    path("<int:pk>/attachments/<int:index>/", views.attachment, name="attachment"),
    path("<int:pk>/resend/", views.resend, name="resend"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/resend-to/", logviews.resend_to, name="resend-to"),
    path("<int:pk>/retry/", views.retry, name="retry"),
]
