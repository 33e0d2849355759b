"""``postroom outbox list|stats|retry|cancel|purge``: the queue from the command line."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from postroom.delivery import actions
from postroom.delivery.inspect import LIST_LIMIT, MAX_LIST_LIMIT, list_messages, queue_stats
from postroom.delivery.log import parse_id
from postroom.delivery.models import Kind, OutboxMessage, Status
from postroom.delivery.policy import current_policy
from postroom.delivery.retention import purge
from postroom.startup import prepare_database

TEXT_WIDTH = 40


class Command(BaseCommand):
    help = (
        "Look at and look after the outbox: list, stats, retry, cancel, purge"
        " (postroom help outbox for each)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions_ = parser.add_subparsers(dest="action", required=True)
        listing = actions_.add_parser("list", help="The newest messages, newest first.")
        listing.add_argument("--status", choices=Status.values, help="Only this status.")
        listing.add_argument("--kind", choices=Kind.values, help="Only this kind.")
        listing.add_argument(
            "--limit",
            type=int,
            default=LIST_LIMIT,
            help=f"At most this many (default {LIST_LIMIT}, up to {MAX_LIST_LIMIT}).",
        )
        listing.add_argument("--json", action="store_true", help="Print JSON.")
        stats = actions_.add_parser(
            "stats", help="Counts by status, the oldest waiting message, the recent rate."
        )
        stats.add_argument("--json", action="store_true", help="Print JSON.")
        for name, text in (
            ("retry", "Make failed or waiting messages due now."),
            ("cancel", "Cancel queued or held messages."),
        ):
            action = actions_.add_parser(name, help=text)
            action.add_argument("ids", nargs="+", metavar="ID", help="Message ids (see list).")
            action.add_argument("--json", action="store_true", help="Print JSON.")
        purge_parser = actions_.add_parser(
            "purge", help="Drop old message bodies and old log rows."
        )
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

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        prepare_database()
        getattr(self, f"_{action}")(**options)

    # -- the actions ---------------------------------------------------------------------------

    def _list(self, status: str | None, kind: str | None, limit: int, json: bool, **_: Any):
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise CommandError(f"--limit must be from 1 to {MAX_LIST_LIMIT}, not {limit}.")
        rows = list_messages(status, kind, limit)
        if json:
            self._json({"messages": rows})
            return
        if not rows:
            self.stdout.write("No messages.")
            return
        table = [("id", "created (UTC)", "status", "kind", "tries", "via", "to", "subject")]
        for row in rows:
            table.append(
                (
                    str(row["id"]),
                    row["created_at"][:19].replace("T", " "),
                    row["status"],
                    row["kind"],
                    str(row["attempt_count"]),
                    row["connection"] or "-",
                    _short(row["to"]),
                    _short(row["subject"]),
                )
            )
        widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
        for line in table:
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            )

    def _stats(self, json: bool, **_: Any) -> None:
        stats = queue_stats()
        if json:
            self._json(stats.as_json())
            return
        counts = ", ".join(f"{status} {n}" for status, n in stats.counts.items())
        self.stdout.write(f"Messages by status: {counts}")
        age = stats.oldest_queued_age_seconds
        if age is None:
            self.stdout.write("Nothing is waiting to be sent.")
        else:
            self.stdout.write(
                f"Oldest waiting: #{stats.oldest_queued_id}, queued {_duration(age)} ago"
                f" ({stats.oldest_queued_at:%Y-%m-%d %H:%M:%S} UTC)."
            )
        self.stdout.write(
            f"Sent in the last minute: {stats.sent_last_minute}"
            f" ({stats.sent_last_minute / 60:.2f}/s); in the last hour: {stats.sent_last_hour}"
            f" ({stats.sent_last_hour / 3600:.2f}/s)."
        )
        self.stdout.write(
            f"Failed in the last minute: {stats.failed_last_minute}; in the last hour:"
            f" {stats.failed_last_hour}."
        )

    def _retry(self, ids: list[str], json: bool, **_: Any) -> None:
        self._act("retry", ids, json, actions.retryable, actions.retry_now, "failed or waiting")

    def _cancel(self, ids: list[str], json: bool, **_: Any) -> None:
        self._act("cancel", ids, json, actions.cancellable, actions.cancel, "queued or held")

    def _purge(self, body_days: int | None, log_days: int | None, **_: Any) -> None:
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

    # -- helpers -------------------------------------------------------------------------------

    def _act(self, verb: str, ids: list[str], as_json: bool, eligible, act, wanted: str) -> None:
        parsed = [parse_id(text) for text in ids]
        bad = [text for text, pk in zip(ids, parsed, strict=True) if pk is None]
        if bad:
            raise CommandError(
                f"Not a message id: {', '.join(repr(t[:30]) for t in bad[:5])}. Ids are whole"
                " numbers, as `postroom outbox list` shows them."
            )
        wanted_ids = sorted({pk for pk in parsed if pk is not None})
        selected = OutboxMessage.objects.filter(pk__in=wanted_ids)
        ready = set(eligible(selected).values_list("pk", flat=True))
        statuses = dict(selected.values_list("pk", "status"))
        done = act(OutboxMessage.objects.filter(pk__in=ready)) if ready else 0
        skipped = {
            pk: ("not found" if pk not in statuses else f"is {statuses[pk]}, not {wanted}")
            for pk in wanted_ids
            if pk not in ready
        }
        if as_json:
            self._json(
                {
                    "action": verb,
                    "done": sorted(ready),
                    "count": done,
                    "skipped": {str(pk): why for pk, why in skipped.items()},
                }
            )
        else:
            past = "Retried" if verb == "retry" else "Cancelled"
            self.stdout.write(f"{past} {done} of {len(wanted_ids)} message(s).")
            for pk, why in skipped.items():
                self.stdout.write(f"  #{pk} {why}: left as it was.")
        if skipped:
            raise SystemExit(1)

    def _json(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, indent=2))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 1] + "…"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
