"""Pure-Python domain rules of Agent Desktop: no Qt, no SQLAlchemy, no I/O."""
