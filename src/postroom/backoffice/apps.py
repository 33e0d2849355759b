from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "postroom.backoffice"
    label = "backoffice"
    navigation = (
        ("Dashboard", "backoffice:dashboard", "dashboard", 10),
        ("Settings", "backoffice:settings", "settings", 90, "administrators"),
    )
