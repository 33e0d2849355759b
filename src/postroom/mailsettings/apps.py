from django.apps import AppConfig


class MailsettingsConfig(AppConfig):
    name = "postroom.mailsettings"
    label = "mailsettings"
