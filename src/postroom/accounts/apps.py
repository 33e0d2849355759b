from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "postroom.accounts"
    label = "accounts"
    # Backoffice navigation entries; see backoffice.context.
    navigation = (("Users", "accounts:users", "accounts", 80, "administrators"),)

    def ready(self) -> None:
        from postroom.accounts.housekeeping import forget_old_records
        from postroom.core import chores

        chores.register("accounts-forget", forget_old_records)
