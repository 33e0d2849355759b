from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "postroom.applications"
    label = "applications"
    # Backoffice navigation; see backoffice.context.
    navigation = (("Applications", "applications:list", "applications", 75, "administrators"),)
