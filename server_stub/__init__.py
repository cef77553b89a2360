"""The sync server (FastAPI + uvicorn): login, push/pull sync, server-sent pokes.

- ``server_stub.app.create_app(database_url, ...)``: the ASGI app;
- ``server_stub.embedded.EmbeddedServer``: run it on a background thread (app and tests);
- ``agent-desktop-server``: run it standalone (``server_stub.__main__``).

It uses only ``agent_desktop.domain`` and ``agent_desktop.sync.protocol`` from the app
(an import-linter contract); its store is its own (``server_stub.store``).
"""
