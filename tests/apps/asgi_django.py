"""Stage-04's single-file Django project, served through Django's own ASGI
handler (its sync views run in asgiref's thread, its `send` and
`receive` calls stay on the loop)."""

import django_app  # noqa: F401  (configures the settings and the URLs)
from django.core.asgi import get_asgi_application

application = get_asgi_application()
