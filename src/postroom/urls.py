from django.urls import include, path

urlpatterns = [
    path("api/", include("postroom.api.urls")),
    path("applications/", include("postroom.applications.urls")),
    path("inbox/", include("postroom.inbox.urls")),
    path("outbox/", include("postroom.delivery.urls")),
    path("health/", include("postroom.health.urls")),
    path("", include("postroom.forms.urls")),
    path("", include("postroom.accounts.urls")),
    path("", include("postroom.backoffice.urls")),
]
