"""What an administrator does to users, with the rules that keep someone in charge.

Nobody can disable, delete or demote themselves, and the last active administrator cannot
be disabled, deleted or demoted. The check and the change happen in one transaction with
the administrators' rows locked, so two administrators demoting each other at the same
moment cannot leave nobody in charge.
"""

from __future__ import annotations

from django.db import transaction

from postroom.accounts import lockout
from postroom.accounts.models import User
from postroom.accounts.sessions import end_sessions

DONE = {"disable": "disabled", "delete": "deleted", "demote": "made an Editor"}


class UserActionError(Exception):
    """Refused; the text says why and what to do instead."""


def _locked_target(actor: User, target: User, verb: str) -> User:
    if target.pk == actor.pk:
        raise UserActionError(
            f"You cannot {verb} your own account. Ask another administrator to do it."
        )
    admins = list(
        User.objects.select_for_update()
        .filter(role=User.Role.ADMINISTRATOR, is_active=True)
        .values_list("pk", flat=True)
    )
    target = User.objects.select_for_update().get(pk=target.pk)
    if target.pk in admins and len(admins) == 1:
        raise UserActionError(
            f"{target.email} is the last active administrator and cannot be {DONE[verb]}:"
            " someone must stay in charge. Make another user an administrator first."
        )
    return target


def disable(actor: User, target: User) -> None:
    with transaction.atomic():
        target = _locked_target(actor, target, "disable")
        target.is_active = False
        target.save(update_fields=["is_active"])
    end_sessions(target.pk)


def enable(target: User) -> None:
    User.objects.filter(pk=target.pk).update(is_active=True)


def delete(actor: User, target: User) -> None:
    with transaction.atomic():
        target = _locked_target(actor, target, "delete")
        pk = target.pk
        target.delete()
    end_sessions(pk)
    lockout.unlock(target.email)


def change_role(actor: User, target: User, role: str) -> bool:
    """True if the role changed."""
    if role not in User.Role.values:
        raise UserActionError("Choose Administrator or Editor.")
    if target.role == role:
        return False
    with transaction.atomic():
        if role != User.Role.ADMINISTRATOR:
            target = _locked_target(actor, target, "demote")
        target.role = role
        target.save(update_fields=["role"])
    return True


def unlock(target: User) -> bool:
    return lockout.unlock(target.email)
