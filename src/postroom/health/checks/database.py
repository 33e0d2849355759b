"""The database Postroom keeps the outbox in."""

from __future__ import annotations

from django.db import DatabaseError, connection

from postroom.health.registry import SERVICES, Result, check
from postroom.startup import database_description


@check(
    "database",
    "The database answers",
    SERVICES,
    "The outbox, the email log and the users live in the database; without it nothing is sent.",
    docs="README.md#where-postroom-keeps-things",
)
def database() -> list[Result]:
    where = database_description()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return [
            Result.error(
                f"The database ({where}) does not answer: {type(error).__name__}.",
                "Check DATABASE_URL, that the database server runs and that this machine may"
                " connect to it.",
            )
        ]
    return [Result.success(f"{where} answers.")]
