"""A minimal single-file Django project for stage-04's framework tests."""

import json

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="test-only-not-secret",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import FileResponse, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402


def index(request):
    return HttpResponse("Hello from Django\n", content_type="text/plain")


@csrf_exempt
def items(request):
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    item = json.loads(request.body)
    return JsonResponse({"created": item, "path": request.path}, status=201)


def search(request):
    return JsonResponse({"q": request.GET.getlist("q"), "agent": request.headers.get("User-Agent")})


def download(request):
    # FileResponse goes out through wsgi.file_wrapper when the server
    # offers one. The client names a file it made; a test fixture only.
    return FileResponse(open(request.GET["path"], "rb"))


urlpatterns = [
    path("", index),
    path("api/items", items),
    path("search", search),
    path("download", download),
]

application = get_wsgi_application()
