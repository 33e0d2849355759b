from django.urls import include, path

urlpatterns = [
    path("inbox/", include("postroom.inbox.urls")),
    path("outbox/", include("postroom.delivery.urls")),
    path("health/", include("postroom.health.urls")),
    path("", include("postroom.forms.urls")),
    path("", include("postroom.accounts.urls")),
    path("", include("postroom.backoffice.urls")),
]

# Designed "not found" pages: the public form style under /f/, the backoffice's elsewhere.
handler404 = "postroom.backoffice.views.not_found"
