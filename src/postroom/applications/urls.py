from django.urls import path

from postroom.applications import views

app_name = "applications"

urlpatterns = [
    path("", views.application_list, name="list"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/enabled/", views.set_enabled, name="enabled"),
    path("<int:pk>/rotate/", views.rotate, name="rotate"),
    path("<int:pk>/delete/", views.delete, name="delete"),
]
