from django.urls import include, path

urlpatterns = [
    path("api/v1/inbox/", include("postroom.inbox.api_urls")),  # before the API's catch-all
    path("api/", include("postroom.api.urls")),
    path("applications/", include("postroom.applications.urls")),
    path("inbox/", include("postroom.inbox.urls")),
    path("outbox/", include("postroom.delivery.urls")),
    path("suppressions/", include("postroom.delivery.suppression_urls")),
    path("health/", include("postroom.health.urls")),
    path("events/", include("postroom.events.urls")),
    path("", include("postroom.forms.urls")),
    path("", include("postroom.accounts.urls")),
    path("", include("postroom.backoffice.urls")),
]

# Designed "not found" pages: the public form style under /f/, the backoffice's elsewhere.
handler404 = "postroom.backoffice.views.not_found"
