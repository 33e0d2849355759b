"""The HTTP API: applications send mail with ``POST /api/v1/messages`` and read its status.

Authenticated by ``Authorization: Bearer <secret>`` (see postroom.applications), answered in
JSON only, never with a session or a CSRF token.
"""
