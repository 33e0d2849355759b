from django.urls import path

from postroom.delivery import views

app_name = "delivery"

urlpatterns = [
    path("<int:pk>/", views.message_detail, name="message"),
    path("<int:pk>/status.json", views.message_status, name="message-status"),
]
