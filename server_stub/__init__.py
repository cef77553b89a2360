"""The sync server (FastAPI). Arrives with the sync capability; see docs/ARCHITECTURE.md."""
