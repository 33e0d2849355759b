from django import template

from postroom.accounts import config

register = template.Library()


@register.simple_tag
def password_reset_available() -> bool:
    """For the login page: offer "Forgot password?" only when a reset email can be sent."""
    return config.password_reset_available()
