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

        from django.contrib.auth.signals import user_logged_in

        from postroom.accounts.sessions import remember_sign_in

        user_logged_in.connect(
            lambda sender, request, **kwargs: request is not None and remember_sign_in(request),
            weak=False,
            dispatch_uid="postroom-remember-sign-in",
        )
