"""The demo's ASGI application, ``demo.asgi:application``, for uvicorn and the like.

Run with ``example/`` on ``PYTHONPATH`` (for ``demo``) and the repository root
(for ``tests.loopback``, the demo's stand-in services).
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

application = get_asgi_application()
