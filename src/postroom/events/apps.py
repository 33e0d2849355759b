from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "postroom.events"
    label = "events"

    def ready(self) -> None:
        from postroom.events import housekeeping

        housekeeping.register()
