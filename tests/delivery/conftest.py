"""The shared server fixtures live in tests/conftest.py."""
