"""The WSGI entry point for a production server: ``gunicorn roundtable.wsgi:app`` (see docs/deployment.md).

Configuration comes from the environment (``ROUNDTABLE_DATABASE_URL``,
``ROUNDTABLE_REDIS_URL``, ``ROUNDTABLE_SECRET_KEY``, ...) and the instance folder.
"""

from roundtable import create_app

app = create_app({"SERVES_WEB": True})
app.extensions["roundtable"].database.upgrade()
