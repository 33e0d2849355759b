"""The built-in health checks; importing this package registers them (HealthConfig.ready)."""

from postroom.health.checks import (
    configuration,
    database,
    delivery,
    events,
    security,
    senderdomain,
    smtp,
)

__all__ = ["configuration", "database", "delivery", "events", "security", "senderdomain", "smtp"]
