from django.urls import path

from postroom.forms.views import builder, entries, public, workflows

app_name = "forms"

urlpatterns = [
    # Backoffice
    path("forms/", builder.form_list, name="list"),
    path("forms/new/", builder.form_create, name="create"),
    path("forms/<int:pk>/", builder.form_build, name="build"),
    path("forms/<int:pk>/preview/", builder.form_preview, name="preview"),
    path("forms/<int:pk>/settings/", builder.form_settings, name="settings"),
    path("forms/<int:pk>/embed/", builder.form_embed, name="embed"),
    path("forms/<int:pk>/duplicate/", builder.form_duplicate, name="duplicate"),
    path("forms/<int:pk>/delete/", builder.form_delete, name="delete"),
    path("forms/<int:pk>/fields/new/", builder.field_add, name="field-add"),
    path("forms/<int:pk>/fields/<int:field_id>/", builder.field_edit, name="field-edit"),
    path("forms/<int:pk>/fields/<int:field_id>/move/", builder.field_move, name="field-move"),
    path("forms/<int:pk>/fields/<int:field_id>/delete/", builder.field_delete, name="field-delete"),
    path("forms/<int:pk>/workflows/", workflows.workflow_list, name="workflows"),
    path("forms/<int:pk>/workflows/new/", workflows.workflow_add, name="workflow-add"),
    path(
        "forms/<int:pk>/workflows/<int:workflow_id>/",
        workflows.workflow_edit,
        name="workflow-edit",
    ),
    path(
        "forms/<int:pk>/workflows/<int:workflow_id>/move/",
        workflows.workflow_move,
        name="workflow-move",
    ),
    path(
        "forms/<int:pk>/workflows/<int:workflow_id>/delete/",
        workflows.workflow_delete,
        name="workflow-delete",
    ),
    path("forms/<int:pk>/entries/", entries.entry_list, name="entries"),
    path("forms/<int:pk>/entries.csv", entries.entry_csv, name="entries-csv"),
    path("forms/<int:pk>/entries/<int:entry_id>/", entries.entry_detail, name="entry"),
    path(
        "forms/<int:pk>/entries/<int:entry_id>/delete/", entries.entry_delete, name="entry-delete"
    ),
    path(
        "forms/<int:pk>/entries/<int:entry_id>/files/<int:upload_id>/",
        entries.upload_download,
        name="upload",
    ),
    path(
        "forms/<int:pk>/entries/<int:entry_id>/runs/<int:run_id>/retry/",
        entries.run_retry,
        name="run-retry",
    ),
    # Public
    path("f/<slug:slug>/", public.form_page, name="public"),
    path("f/<slug:slug>/thanks/", public.thanks, name="thanks"),
    path("f/<slug:slug>/token/", public.token, name="token"),
]
