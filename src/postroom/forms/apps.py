from django.apps import AppConfig


class FormsConfig(AppConfig):
    name = "postroom.forms"
    label = "forms"
    # (label, URL name, section, position) for the backoffice navigation; see backoffice.context.
    navigation = (("Forms", "forms:list", "forms", 40),)

    def ready(self) -> None:
        from datetime import timedelta

        from django.db import transaction
        from django.db.models.signals import post_delete

        from postroom.core import chores, throttle
        from postroom.forms import spam, uploads
        from postroom.forms.models import Upload

        def remove_file(sender, instance: Upload, **kwargs) -> None:  # noqa: ANN001
            # Only once the deletion is committed: a rolled-back delete keeps its file.
            transaction.on_commit(lambda: uploads.remove([instance.stored_name]))

        post_delete.connect(
            remove_file, sender=Upload, weak=False, dispatch_uid="forms-upload-file"
        )

        def forget_used_tokens() -> None:
            if throttle.take_turn("forms-used-tokens", timedelta(hours=1)):
                spam.forget_used_tokens()

        chores.register("forms-used-tokens", forget_used_tokens)

        from postroom.delivery import sources
        from postroom.forms.workflows import entry_source

        sources.register(entry_source)
