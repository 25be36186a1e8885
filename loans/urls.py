"""Public pages of the loans app (included at the site root)."""

from django.urls import path

from loans import views

app_name = "loans"

urlpatterns = [
    path("apply/", views.apply, name="apply"),
    path("apply/received/", views.apply_done, name="apply-done"),
    path("apply/status/", views.status, name="apply-status"),
]
