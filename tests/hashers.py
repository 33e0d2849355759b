"""Argon2 at a test's cost: the same algorithm and format, a thousandth of the memory and time.

Production keeps Django's Argon2 parameters (about 0.15 s and 100 MB a hash); in the tests,
where hundreds of users are made and logged in, that alone took a minute and a half.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 1024
    parallelism = 1
