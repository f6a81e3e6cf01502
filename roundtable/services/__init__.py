"""Plain-Python services: each takes a SQLAlchemy session and arguments, never a Flask request."""
