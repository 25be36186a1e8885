"""``/api/v1/`` rating governance: the rating history, an analyst's change (with a reason),
the rating service, and approve / refuse. Thin callers of ``customers.services.ratings``."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import Customer, CustomerRating, Rating
from customers.services import (
    customer_rate_by_model,
    customer_rating_approve,
    customer_rating_change,
    customer_rating_refuse,
)
from customers.services.ratings import PERM_APPROVE_RATING, PERM_RATE
from loansite.api.permissions import require_perms
from loansite.scoping import ScopedViewSetMixin

NOTE_MAX = 2000


class CustomerRatingSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerRating
        fields = [
            "id",
            "customer",
            "previous",
            "rating",
            "source",
            "status",
            "model_version",
            "inputs",
            "reason",
            "requested_by",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class RatingChangeInputSerializer(serializers.Serializer):
    rating = serializers.ChoiceField(choices=Rating.choices)
    reason = serializers.CharField(max_length=NOTE_MAX)


class RatingDecisionInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")


class CustomerRatingViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = CustomerRating.objects.all()
    serializer_class = CustomerRatingSerializer
    filterset_fields = ["customer", "status", "source"]
    ordering = ["-created_at", "-id"]

    def _decide(self, request, pk, service):
        change = get_object_or_404(CustomerRating, pk=pk)
        data = RatingDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = service(actor=request.user, request=change, note=data.validated_data["note"])
        return Response(CustomerRatingSerializer(change).data)

    @extend_schema(request=RatingDecisionInputSerializer, responses=CustomerRatingSerializer)
    @action(detail=True, methods=["post"], permission_classes=[require_perms(PERM_APPROVE_RATING)])
    def approve(self, request, pk=None):
        return self._decide(request, pk, customer_rating_approve)

    @extend_schema(request=RatingDecisionInputSerializer, responses=CustomerRatingSerializer)
    @action(detail=True, methods=["post"], permission_classes=[require_perms(PERM_APPROVE_RATING)])
    def refuse(self, request, pk=None):
        return self._decide(request, pk, customer_rating_refuse)


def _answer(change):
    if change is None:
        return Response({"detail": "unchanged"}, status=status.HTTP_200_OK)
    return Response(CustomerRatingSerializer(change).data, status=status.HTTP_201_CREATED)


class CustomerRatingChangeView(APIView):
    """An analyst's rating with a reason (an upgrade of more than one notch is a request)."""

    permission_classes = [require_perms(PERM_RATE)]

    @extend_schema(request=RatingChangeInputSerializer, responses={201: CustomerRatingSerializer})
    def post(self, request, pk: int):
        customer = get_object_or_404(Customer, pk=pk)
        data = RatingChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _answer(customer_rating_change(actor=request.user, customer=customer, **data.validated_data))


class CustomerRateView(APIView):
    """The rating service (statistical where an active model scored the customer, else expert)."""

    permission_classes = [require_perms(PERM_RATE)]

    @extend_schema(request=None, responses={201: CustomerRatingSerializer})
    def post(self, request, pk: int):
        customer = get_object_or_404(Customer, pk=pk)
        return _answer(customer_rate_by_model(customer=customer, actor=request.user))
