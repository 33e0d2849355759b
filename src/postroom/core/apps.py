from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "postroom.core"
    label = "core"

    def ready(self) -> None:
        from datetime import timedelta

        from postroom.core import chores, ratelimit, throttle

        def forget_expired_counts() -> None:
            if throttle.take_turn("rate-counters-forget", timedelta(hours=1)):
                ratelimit.forget_expired()

        chores.register("rate-counters-forget", forget_expired_counts)
