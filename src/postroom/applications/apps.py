from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "postroom.applications"
    label = "applications"
