"""Core building blocks: seeding, money, ids, calendars, distributions, reference data."""
