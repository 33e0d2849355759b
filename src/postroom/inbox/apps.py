from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "postroom.inbox"
    label = "inbox"
    navigation = (("Inbox", "inbox:list", "inbox", 30, "administrators"),)

    def ready(self) -> None:
        from postroom.core import chores
        from postroom.inbox.retention import prune_as_configured

        chores.register("inbox-retention", prune_as_configured)
