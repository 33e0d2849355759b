from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "postroom.health"
    label = "health"
    # (label, URL name, section, position) for the backoffice navigation; see backoffice.context.
    navigation = ()
