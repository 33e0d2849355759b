from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "postroom.api"
    label = "api"

    def ready(self) -> None:
        from datetime import timedelta

        from postroom.api.models import forget_old_idempotency_keys
        from postroom.core import chores, throttle

        def forget_keys() -> None:
            if throttle.take_turn("api-idempotency-keys", timedelta(hours=1)):
                forget_old_idempotency_keys()

        chores.register("api-idempotency-keys", forget_keys)
