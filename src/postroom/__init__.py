"""Postroom: outgoing email for a website's backoffice."""

__version__ = "0.1.0"
