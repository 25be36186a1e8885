from django.contrib.staticfiles import finders
from django.db import connection
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control, never_cache


def home(request):
    return render(request, "home.html")


@never_cache
def health(request):
    """Liveness for the reverse proxy: answers 200 when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception as exc:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "error", "detail": type(exc).__name__}, status=503)


@cache_control(max_age=86400, public=True)
def favicon(request):
    """``/favicon.ico``: the site's icon from the static files (browsers ask for it on every page)."""
    path = finders.find("loansite/favicon.ico")
    if not path:
        raise Http404
    return FileResponse(open(path, "rb"), content_type="image/x-icon")
