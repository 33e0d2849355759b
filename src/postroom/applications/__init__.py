"""Applications: the sites and programs allowed to hand Postroom their mail (SMTP relay, HTTP API).

Each has a username, allowed senders, optional client networks and rate limit, and one or more
secrets (two during a rotation's grace period). :mod:`postroom.applications.credentials` makes
and checks the secrets.
"""
