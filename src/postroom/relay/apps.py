from django.apps import AppConfig


class RelayConfig(AppConfig):
    name = "postroom.relay"
    label = "relay"
