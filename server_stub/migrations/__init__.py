"""Alembic migrations for the sync server's store (server_stub.store.create_schema runs them)."""
