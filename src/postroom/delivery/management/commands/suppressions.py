from __future__ import annotations

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from postroom.delivery.models import Suppression, SuppressionReason
from postroom.delivery.suppression import InvalidAddress, is_suppressed, suppress, unsuppress
from postroom.startup import prepare_database


def as_json(entry: Suppression) -> dict[str, object]:
    return {
        "address": entry.address,
        "reason": entry.reason,
        "created_at": entry.created_at.isoformat(),
        "message": entry.message_id,  # the email log id of the message that caused it
        "source": entry.source,
        "note": entry.note,
    }


class Command(BaseCommand):
    help = "The suppression list: `postroom suppressions list|add|remove [--json]`."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="Show the suppressed addresses, newest first.")
        listing.add_argument("--search", default="", help="Only addresses containing this text.")
        listing.add_argument("--limit", type=int, default=0, help="At most this many (0: all).")
        listing.add_argument("--json", action="store_true", help="One JSON array.")
        add = actions.add_parser("add", help="Stop sending to an address.")
        add.add_argument("address")
        add.add_argument(
            "--reason",
            default=SuppressionReason.MANUAL,
            choices=SuppressionReason.values,
            help="Why (default: manual).",
        )
        add.add_argument("--note", default="")
        add.add_argument("--json", action="store_true")
        remove = actions.add_parser("remove", help="Send to an address again.")
        remove.add_argument("address")
        remove.add_argument("--note", default="", help="Why, kept on record.")
        remove.add_argument("--json", action="store_true")

    def handle(self, *args, action: str, **options) -> None:
        prepare_database()
        getattr(self, f"_{action}")(**options)

    def _list(self, search: str, limit: int, json: bool, **_: object) -> None:
        entries = Suppression.objects.all()
        if search:
            entries = entries.filter(key__icontains=search.lower())
        if limit > 0:
            entries = entries[:limit]
        if json:
            self._json([as_json(entry) for entry in entries])
            return
        count = 0
        for entry in entries.iterator():
            count += 1
            note = f"  {entry.note}" if entry.note else ""
            self.stdout.write(
                f"{entry.address}\t{entry.reason}\t{entry.created_at:%Y-%m-%d %H:%M} UTC\t"
                f"{entry.source}{note}"
            )
        if not count:
            self.stdout.write("No suppressed address." if not search else "No address matches.")

    def _add(self, address: str, reason: str, note: str, json: bool, **_: object) -> None:
        try:
            already = is_suppressed(address)
            entry = already or suppress(address, reason, source="command line", note=note)
        except InvalidAddress as error:
            raise CommandError(str(error)) from None
        if json:
            self._json({"added": already is None, **as_json(entry)})
        elif already:
            self.stdout.write(f"{entry.address} was already suppressed ({entry.reason}).")
        else:
            self.stdout.write(f"Suppressed {entry.address}: Postroom no longer sends to it.")

    def _remove(self, address: str, note: str, json: bool, **_: object) -> None:
        try:
            removed = unsuppress(address, note, removed_by="command line")
        except InvalidAddress as error:
            raise CommandError(str(error)) from None
        if json:
            self._json({"removed": removed is not None, "address": address})
        elif removed is None:
            raise CommandError(f"{address} is not on the suppression list; nothing removed.")
        else:
            self.stdout.write(f"Removed {removed.address}: mail to it is sent again.")

    def _json(self, data: object) -> None:
        self.stdout.write(jsonlib.dumps(data, indent=2))
