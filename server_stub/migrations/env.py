"""Alembic environment for the sync server's store.

``server_stub.store.create_schema`` passes its own connection (inside a transaction that
holds the schema lock) in ``config.attributes["connection"]``. Alembic's command line
(autogenerate while developing) uses ``sqlalchemy.url`` instead, e.g.::

    alembic -x url=postgresql+psycopg://... revision --autogenerate -m "..."
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from server_stub.store import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
            "sqlalchemy.url"
        )
        engine = create_engine(url or "sqlite://")
        try:
            with engine.begin() as conn:
                _run(conn)
        finally:
            engine.dispose()
        return
    _run(connection)


def _not_the_gateways(obj: object, name: str | None, type_: str, reflected: bool,
                      compare_to: object) -> bool:
    """The payment-gateway stub keeps its own ``gateway_`` tables in a PostgreSQL server's
    database (server_stub.gateway: an external system with its own schema): autogenerate
    must not propose dropping them."""
    return not (type_ == "table" and reflected and compare_to is None
                and (name or "").startswith("gateway_"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_not_the_gateways,
        # SQLite cannot ALTER most things: later revisions rebuild tables in batch mode.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
