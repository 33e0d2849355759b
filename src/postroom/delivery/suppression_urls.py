from django.urls import path

from postroom.delivery import suppression_views as views

app_name = "suppressions"

urlpatterns = [
    path("", views.suppression_list, name="list"),
    path("add/", views.suppression_add, name="add"),
    path("remove/", views.suppression_remove, name="remove"),
    path("import/", views.suppression_import, name="import"),
    path("export.csv", views.suppression_export, name="export"),
]
