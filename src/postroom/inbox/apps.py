from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "postroom.inbox"
    label = "inbox"
    navigation = (("Inbox", "inbox:list", "inbox", 30, "administrators"),)
