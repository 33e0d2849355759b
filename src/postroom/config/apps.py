from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "postroom.config"
    label = "config"
