from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "postroom.health"
    label = "health"
    # (label, URL name, section, position) for the backoffice navigation; see backoffice.context.
    navigation = (("Health", "health:index", "health", 70),)

    def ready(self) -> None:
        from postroom.core import chores
        from postroom.health import checks  # noqa: F401  (registers the built-in checks)
        from postroom.health.report import chore

        # The checks talk to the SMTP server (up to their timeout): never in a delivering thread.
        chores.register("health-report", chore, own_thread=True)
