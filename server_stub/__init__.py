"""The sync server (FastAPI + uvicorn): login, push/pull sync, server-sent pokes.

- ``server_stub.app.create_app(database_url, ...)``: the ASGI app;
- ``server_stub.embedded.EmbeddedServer``: run it on a background thread (app and tests);
- ``agent-desktop-server``: run it standalone (``server_stub.__main__``).

It uses only ``agent_desktop.domain`` and ``agent_desktop.sync.protocol`` from the app
(an import-linter contract); its store is its own (``server_stub.store``).
"""

# The mutation registry first: its appliers' modules (orders, cases, payments...) import
# it back, which only works when it is the one being loaded, whichever module a caller
# imports first.
import server_stub.mutations  # noqa: F401  (registers every applier)
