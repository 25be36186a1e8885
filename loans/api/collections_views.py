"""``/api/v1/loans/collections/`` (queue, assign), ``/collection-contacts/``, ``/promises/``,
``/legal-cases/`` (``move/``), ``/write-offs/`` and ``/recoveries/``: thin callers of the
collections and write-off services. 400 on bad input, 403 by role (or a loan assigned to
someone else), 409 on illegal moves or a concurrent change. Posting a recovery takes an
``Idempotency-Key`` header like a repayment."""

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from loans.api import collections_serializers as s
from loans.api.serializers import ErrorSerializer
from loans.models import CollectionContact, LegalCase, Loan, PromiseToPay, Recovery, WriteOff
from loans.models.delinquency import DpdBucket, RiskClass
from loans.selectors.collections import collections_queue
from loans.services import collections as svc
from loans.services import writeoff
from loansite.api.permissions import require_perms
from loansite.scoping import ScopedViewSetMixin, scope_queryset

CONFLICT = OpenApiResponse(ErrorSerializer, description="Illegal move, duplicate or concurrent change")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Role refuses, or the loan is assigned to someone else")
BAD = OpenApiResponse(ErrorSerializer, description="Invalid input")


class QueueFilter(django_filters.FilterSet):
    bucket = django_filters.ChoiceFilter(field_name="dpd_bucket", choices=DpdBucket.choices)
    risk_class = django_filters.ChoiceFilter(choices=RiskClass.choices)
    collector = django_filters.NumberFilter(field_name="collection_case__collector_id")
    unassigned = django_filters.BooleanFilter(method="filter_unassigned")

    class Meta:
        model = Loan
        fields = []

    def filter_unassigned(self, queryset, name, value):
        if value is None:
            return queryset
        from django.db.models import Q

        empty = Q(collection_case__isnull=True) | Q(collection_case__collector__isnull=True)
        return queryset.filter(empty) if value else queryset.exclude(empty)


class CollectionsViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """The queue of overdue loans (worst first) and batch assignment to a collector."""

    queryset = collections_queue()
    serializer_class = s.QueueSerializer
    filterset_class = QueueFilter
    search_fields = ("=loan_number",)

    def get_permissions(self):
        if self.action == "assign":
            return [require_perms(svc.PERM_ASSIGN)()]
        return [require_perms("loans.view_delinquentloan")()]

    def get_queryset(self):
        return scope_queryset(collections_queue(), self.request.user, path=self.scope_path)

    @extend_schema(responses={200: s.QueueSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def queue(self, request):
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        if page is not None:
            return self.get_paginated_response(s.QueueSerializer(page, many=True).data)
        return Response(s.QueueSerializer(qs, many=True).data)

    @extend_schema(
        request=s.CollectorAssignSerializer,
        responses={200: s.CollectorAssignOutcomeSerializer, 400: BAD, 403: FORBIDDEN},
    )
    @action(detail=False, methods=["post"])
    def assign(self, request):
        data = s.CollectorAssignSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        outcome = svc.collection_assign_many(actor=request.user, **data.validated_data)
        if not outcome.done and outcome.failed:
            first = outcome.failed[0][2]
            return Response(
                {
                    "detail": first,
                    "failed": [{"loan": pk, "loan_number": n, "error": why} for pk, n, why in outcome.failed],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {
                "assigned": outcome.done,
                "failed": [{"loan": pk, "loan_number": n, "error": why} for pk, n, why in outcome.failed],
            }
        )


def _loan_filter(queryset, request):
    loan = request.query_params.get("loan")
    if loan is None:
        return queryset
    if not loan.isdigit():
        return queryset.none()
    return queryset.filter(loan_id=int(loan))


@extend_schema_view(list=extend_schema(responses=s.ContactSerializer(many=True)))
class ContactViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    scope_path = "loan__customer"
    queryset = CollectionContact.objects.select_related("by").order_by("-contacted_at", "-id")
    serializer_class = s.ContactSerializer
    filterset_fields = ("channel", "outcome")

    def get_permissions(self):
        if self.action == "create":
            return [require_perms(svc.PERM_WORK)()]
        return [require_perms("loans.view_collectioncontact")()]

    def get_queryset(self):
        return _loan_filter(super().get_queryset(), self.request)

    @extend_schema(request=s.ContactCreateSerializer, responses={201: s.ContactSerializer, 400: BAD, 403: FORBIDDEN})
    def create(self, request):
        data = s.ContactCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        contact = svc.collection_contact_log(actor=request.user, **data.validated_data)
        return Response(s.ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(responses=s.PromiseSerializer(many=True)))
class PromiseViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    scope_path = "loan__customer"
    queryset = PromiseToPay.objects.select_related("by").order_by("-promised_date", "-id")
    serializer_class = s.PromiseSerializer
    filterset_fields = ("status",)

    def get_permissions(self):
        if self.action == "create":
            return [require_perms(svc.PERM_WORK)()]
        return [require_perms("loans.view_promisetopay")()]

    def get_queryset(self):
        return _loan_filter(super().get_queryset(), self.request)

    @extend_schema(request=s.PromiseCreateSerializer, responses={201: s.PromiseSerializer, 400: BAD, 403: FORBIDDEN})
    def create(self, request):
        data = s.PromiseCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        promise = svc.promise_create(actor=request.user, **data.validated_data)
        return Response(s.PromiseSerializer(promise).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(responses=s.LegalCaseSerializer(many=True)))
class LegalCaseViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    scope_path = "loan__customer"
    queryset = LegalCase.objects.prefetch_related("events__by").order_by("-opened_at", "-id")
    serializer_class = s.LegalCaseSerializer
    filterset_fields = ("status",)

    def get_permissions(self):
        if self.action in ("create", "move"):
            return [require_perms(svc.PERM_LEGAL)()]
        return [require_perms("loans.view_legalcase")()]

    def get_queryset(self):
        return _loan_filter(super().get_queryset(), self.request)

    @extend_schema(
        request=s.LegalOpenSerializer, responses={201: s.LegalCaseSerializer, 400: BAD, 403: FORBIDDEN, 409: CONFLICT}
    )
    def create(self, request):
        data = s.LegalOpenSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        legal = svc.legal_case_open(actor=request.user, **data.validated_data)
        return Response(s.LegalCaseSerializer(legal).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.LegalMoveSerializer, responses={200: s.LegalCaseSerializer, 400: BAD, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        legal = self.get_object()
        data = s.LegalMoveSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        legal = svc.legal_case_move(
            actor=request.user,
            legal_case=legal,
            status=values["status"],
            on_date=values["on_date"],
            note=values["note"],
            court_case_number=values["court_case_number"] or None,
        )
        return Response(s.LegalCaseSerializer(legal).data)


@extend_schema_view(list=extend_schema(responses=s.WriteOffSerializer(many=True)))
class WriteOffViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    scope_path = "loan__customer"
    queryset = WriteOff.objects.select_related("approved_by").order_by("-written_off_on", "-id")
    serializer_class = s.WriteOffSerializer

    def get_permissions(self):
        if self.action == "create":
            return [require_perms(writeoff.PERM_WRITE_OFF)()]
        return [require_perms("loans.view_writeoff")()]

    def get_queryset(self):
        return _loan_filter(super().get_queryset(), self.request)

    @extend_schema(
        request=s.WriteOffCreateSerializer,
        responses={201: s.WriteOffSerializer, 400: BAD, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request):
        data = s.WriteOffCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        record = writeoff.loan_write_off(actor=request.user, **data.validated_data)
        return Response(s.WriteOffSerializer(record).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(responses=s.RecoverySerializer(many=True)))
class RecoveryViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    scope_path = "loan__customer"
    queryset = Recovery.objects.select_related("posted_by").order_by("-id")
    serializer_class = s.RecoverySerializer
    search_fields = ("=bank_reference",)

    def get_permissions(self):
        if self.action == "create":
            return [require_perms(writeoff.PERM_RECOVERY)()]
        return [require_perms("loans.view_recovery")()]

    def get_queryset(self):
        return _loan_filter(super().get_queryset(), self.request)

    @extend_schema(
        request=s.RecoveryCreateSerializer,
        responses={201: s.RecoverySerializer, 400: BAD, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request):
        data = s.RecoveryCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        key = (request.headers.get("Idempotency-Key") or "").strip() or None
        recovery = writeoff.recovery_post(actor=request.user, idempotency_key=key, **data.validated_data)
        return Response(s.RecoverySerializer(recovery).data, status=status.HTTP_201_CREATED)
