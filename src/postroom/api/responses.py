"""Every API answer is JSON, errors included, and never cached (shared with the inbox API)."""

from postroom.core.jsonapi import answer, error

__all__ = ["answer", "error"]
