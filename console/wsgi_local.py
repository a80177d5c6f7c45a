"""WSGI entry for the local layout under gunicorn (``Procfile``): Berth plus its static files.

``runserver`` serves ``/static/`` by itself; gunicorn does not, and without app.css and
app.js the console would be unstyled and inert. Production serves ``STATIC_ROOT`` (after
``manage.py collectstatic``) from the TLS proxy and uses ``console.wsgi`` instead.
"""

from __future__ import annotations

from django.contrib.staticfiles.handlers import StaticFilesHandler

from console.wsgi import application as berth

application = StaticFilesHandler(berth)
