from django.urls import include, path

urlpatterns = [
    path("inbox/", include("postroom.inbox.urls")),
    path("outbox/", include("postroom.delivery.urls")),
    path("", include("postroom.backoffice.urls")),
]
