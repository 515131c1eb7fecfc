"""Alembic migrations (`between migrate`): a package beside `app`, installed with it."""
