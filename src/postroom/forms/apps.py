from django.apps import AppConfig


class FormsConfig(AppConfig):
    name = "postroom.forms"
    label = "forms"
    # (label, URL name, section, position) for the backoffice navigation; see backoffice.context.
    navigation = ()
