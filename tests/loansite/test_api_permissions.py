import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

pytestmark = pytest.mark.django_db


class ForgotItsPermissions(APIView):
    """An endpoint without a model that forgot to say who may call it."""

    def get(self, request):
        return Response({"ok": True})


def test_a_view_without_a_model_or_permission_classes_is_closed_to_staff(make_user):
    request = APIRequestFactory().get("/api/v1/forgot/")
    force_authenticate(request, user=make_user("staff"))
    assert ForgotItsPermissions.as_view()(request).status_code == 403
