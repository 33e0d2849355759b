from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "postroom.delivery"
    label = "delivery"
    navigation = (
        ("Email log", "delivery:log", "delivery", 20),
        ("Suppressions", "suppressions:list", "suppressions", 25, "administrators"),
    )

    def ready(self) -> None:
        from postroom.delivery import housekeeping

        housekeeping.register()
