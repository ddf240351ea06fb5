"""The demo's WSGI application, ``demo.wsgi:application``, for gunicorn and the like.

Run with ``example/`` on ``PYTHONPATH`` (for ``demo``) and the repository root
(for ``tests.loopback``, the demo's stand-in services).
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

application = get_wsgi_application()
