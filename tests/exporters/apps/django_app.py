"""Django with django-prometheus's middlewares, in one module."""

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

from tests.exporters.apps import port_argument, serve_wsgi

settings.configure(
    DEBUG=False,
    SECRET_KEY="errwatch-test",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=["django_prometheus"],
    MIDDLEWARE=[
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ],
    LOGGING_CONFIG=None,
)
django.setup()


def index(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def item(request: HttpRequest, item_id: int) -> HttpResponse:
    return JsonResponse({"id": item_id})


def error(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"error": "division by zero"}, status=500)


def fail(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"error": "the database is gone"}, status=500)


urlpatterns = [
    path("", index, name="index"),
    path("items/<int:item_id>", item, name="item"),
    path("error", error, name="error"),
    path("fail", fail, name="fail"),
    path("", include("django_prometheus.urls")),
]

if __name__ == "__main__":
    from django.core.wsgi import get_wsgi_application

    serve_wsgi(get_wsgi_application(), port_argument())
