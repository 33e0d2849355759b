"""Showing stored RFC 5322 messages safely: parsing them, and the responses that serve parts.

Shared by the development inbox and the email log; it knows nothing of either.
"""
