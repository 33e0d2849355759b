from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from django.core.management.base import BaseCommand

from postroom.delivery.policy import current_policy
from postroom.delivery.retention import purge
from postroom.startup import prepare_database


class Command(BaseCommand):
    help = "Look after the outbox: `postroom outbox purge` applies the retention policy now."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        purge_parser = actions.add_parser("purge", help="Drop old message bodies and old log rows.")
        purge_parser.add_argument(
            "--body-days",
            type=int,
            help="Empty the bodies of messages sent more than this many days ago "
            "(default: Postroom:Delivery:KeepSentBodiesDays, 30).",
        )
        purge_parser.add_argument(
            "--log-days",
            type=int,
            help="Delete finished messages created more than this many days ago "
            "(default: Postroom:Delivery:KeepLogDays, 365).",
        )

    def handle(self, *args, action: str, body_days: int | None, log_days: int | None, **opts):
        prepare_database()
        policy = current_policy()
        if body_days is not None:
            policy = replace(policy, keep_sent_bodies=timedelta(days=body_days))
        if log_days is not None:
            policy = replace(policy, keep_log=timedelta(days=log_days))
        purged = purge(policy)
        self.stdout.write(
            f"Emptied the bodies of {purged.bodies} message(s) sent more than "
            f"{policy.keep_sent_bodies.days} days ago; deleted {purged.messages} message(s) "
            f"older than {policy.keep_log.days} days."
        )
