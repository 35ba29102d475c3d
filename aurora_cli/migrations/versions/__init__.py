"""The revisions, 001 = the seed schema (a package only so the wheel ships them; Alembic skips this file)."""
