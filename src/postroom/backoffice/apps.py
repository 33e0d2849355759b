from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "postroom.backoffice"
    label = "backoffice"
