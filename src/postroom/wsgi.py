"""WSGI entry point, for serving Postroom with another WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")
application = get_wsgi_application()
