"""Test-suite settings: property-based tests are derandomised so CI runs are repeatable."""

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("repeatable")
