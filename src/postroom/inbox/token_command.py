"""``postroom inbox token create|list|revoke``: inbox API tokens from the command line."""

from __future__ import annotations

from django.core.management.base import CommandError

from postroom.inbox.models import InboxToken
from postroom.inbox.tokens import create_token, revoke

USAGE = "Write 'postroom inbox token create NAME', 'token list' or 'token revoke NAME'."


def token_command(words: list[str]) -> str:
    """What to print for these words; CommandError says what is wrong with them."""
    if words[:1] != ["token"] or len(words) < 2:
        raise CommandError(f"Unknown words {' '.join(words)!r}. {USAGE}")
    action, names = words[1], words[2:]
    if action == "list" and not names:
        rows = InboxToken.objects.all()
        if not rows:
            return "No inbox API tokens yet: create one with 'postroom inbox token create NAME'."
        return "\n".join(
            f"{row.name}  created {row.created_at:%Y-%m-%d %H:%M}  last used "
            f"{f'{row.last_used_at:%Y-%m-%d %H:%M}' if row.last_used_at else 'never'}"
            for row in rows
        )
    if action in ("create", "revoke") and len(names) == 1:
        if action == "revoke":
            if not revoke(names[0]):
                raise CommandError(f"There is no inbox API token named {names[0]!r}.")
            return f"Revoked the inbox API token {names[0]!r}."
        try:
            row, token = create_token(names[0])
        except ValueError as problem:
            raise CommandError(str(problem)) from None
        return (
            f"Inbox API token {row.name!r} (shown once; store it like a password):\n{token}\n"
            f"Send it as 'Authorization: Bearer <token>' to /api/v1/inbox/."
        )
    raise CommandError(USAGE)
