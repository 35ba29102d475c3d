"""Alembic's script directory, shipped inside the package so a wheel can migrate a database.

Owns: `env.py` (the online-only environment `aurora_cli.db.migrate` drives), the revision template
and `versions/`, one revision per reason, each opening with a "Why:" paragraph.

Never: a released revision imports from `aurora_cli` (outside this folder) or changes once released.
A revision needs the schema and rules as they were when it was written, not as the application is
today, so whatever it uses from the application is copied into it, frozen (see `002`'s row hash).
`env.py` is the exception: it is the environment, not history, and compares the live models.
"""
