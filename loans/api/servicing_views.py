"""``/api/v1/loans/loans/``, ``/disbursements/`` and ``/repayments/``: thin callers of the
servicing services. 400 on bad input, 403 by role (and maker-checker), 409 on illegal moves
or a concurrent change. Posting a repayment or preparing a disbursement takes an
``Idempotency-Key`` header: the same key again returns what the first call made."""

import django_filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from loans.api import servicing_serializers as s
from loans.api.serializers import ErrorSerializer
from loans.models import Disbursement, LedgerEntry, Loan, Repayment, RepaymentMethod
from loans.selectors.loans import loan_payoff_quote
from loans.services import disbursements, repayments, restructuring
from loansite.api.permissions import IsActiveStaff, require_perms
from loansite.scoping import ScopedViewSetMixin

CONFLICT = OpenApiResponse(ErrorSerializer, description="Illegal move, duplicate or concurrent change")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Role or maker-checker refuses")
IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Up to 64 characters; a retry with the same key returns what the first call made.",
)


class CanPrepareOrAuthorise(IsActiveStaff):
    """Cancelling a prepared disbursement: whoever may prepare or authorise one."""

    def has_permission(self, request, view):
        user = request.user
        return super().has_permission(request, view) and (
            user.has_perm("loans.prepare_disbursement") or user.has_perm("loans.authorise_disbursement")
        )


def _idempotency_key(request) -> str:
    return (request.headers.get("Idempotency-Key") or "").strip()


class LoanFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Loan.Status.choices)
    product = django_filters.CharFilter(field_name="product__code")
    method = django_filters.ChoiceFilter(choices=RepaymentMethod.choices)
    customer = django_filters.NumberFilter(field_name="customer_id")
    manager = django_filters.NumberFilter(field_name="customer__manager_id")
    restructured = django_filters.BooleanFilter()
    disbursed_from = django_filters.DateFilter(field_name="disbursement_date", lookup_expr="gte")
    disbursed_to = django_filters.DateFilter(field_name="disbursement_date", lookup_expr="lte")
    maturity_from = django_filters.DateFilter(field_name="maturity_date", lookup_expr="gte")
    maturity_to = django_filters.DateFilter(field_name="maturity_date", lookup_expr="lte")

    class Meta:
        model = Loan
        fields = []


@extend_schema_view(
    list=extend_schema(responses=s.LoanSerializer(many=True)), retrieve=extend_schema(responses=s.LoanDetailSerializer)
)
class LoanViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Loan.objects.select_related("customer__manager__user", "product", "application").order_by(
        "-disbursement_date", "-id"
    )
    filterset_class = LoanFilter
    search_fields = ("=loan_number", "=contract_number", "customer__name")
    ordering_fields = ("disbursement_date", "maturity_date", "next_due_date", "outstanding_principal")

    def get_serializer_class(self):
        return s.LoanDetailSerializer if self.action == "retrieve" else s.LoanSerializer

    def get_permissions(self):
        if self.action == "prepay":
            return [require_perms("loans.view_loan", "loans.post_repayment")()]
        if self.action == "restructure":
            return [require_perms("loans.view_loan", "loans.restructure_loan")()]
        if self.action in ("payoff_quote", "ledger"):
            return [require_perms("loans.view_loan")()]
        return super().get_permissions()

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action == "retrieve":
            qs = qs.prefetch_related("schedule_versions__created_by", "collateral", "guarantees")
        return qs

    def _detail(self, loan, code=status.HTTP_200_OK):
        return Response(s.LoanDetailSerializer(self.get_queryset().get(pk=loan.pk)).data, status=code)

    @extend_schema(parameters=[s.PayoffQuoteQuerySerializer], responses={200: s.PayoffQuoteSerializer})
    @action(detail=True, methods=["get"], url_path="payoff-quote")
    def payoff_quote(self, request, pk=None):
        loan = self.get_object()
        query = s.PayoffQuoteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        quote = loan_payoff_quote(loan=loan, on_date=query.validated_data.get("on_date"))
        return Response(quote.as_dict())

    @extend_schema(responses={200: s.LedgerEntrySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def ledger(self, request, pk=None):
        loan = self.get_object()
        entries = LedgerEntry.objects.filter(loan=loan).order_by("id")
        return Response(s.LedgerEntrySerializer(entries, many=True).data)

    @extend_schema(
        request=s.PrepaySerializer,
        parameters=[IDEMPOTENCY],
        responses={201: s.RepaymentSerializer, 403: FORBIDDEN, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def prepay(self, request, pk=None):
        loan = self.get_object()
        data = s.PrepaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        repayment = repayments.loan_prepay(
            actor=request.user,
            loan=loan,
            idempotency_key=_idempotency_key(request) or None,
            channel=Repayment.Channel.API,
            **data.validated_data,
        )
        return Response(s.RepaymentSerializer(repayment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.RestructureSerializer, responses={200: s.LoanDetailSerializer, 403: FORBIDDEN, 409: CONFLICT}
    )
    @action(detail=True, methods=["post"])
    def restructure(self, request, pk=None):
        loan = self.get_object()
        data = s.RestructureSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        loan = restructuring.loan_restructure(actor=request.user, loan=loan, **data.validated_data)
        return self._detail(loan)


@extend_schema_view(list=extend_schema(responses=s.DisbursementSerializer(many=True)))
class DisbursementViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    scope_path = "application__customer"
    queryset = Disbursement.objects.select_related("application", "loan", "prepared_by", "authorised_by").order_by(
        "-prepared_at", "-id"
    )
    serializer_class = s.DisbursementSerializer
    filterset_fields = ("status",)

    def get_permissions(self):
        if self.action == "create":
            return [require_perms("loans.prepare_disbursement")()]
        if self.action == "authorise":
            return [require_perms("loans.authorise_disbursement")()]
        if self.action == "cancel":
            return [CanPrepareOrAuthorise()]
        return super().get_permissions()

    @extend_schema(
        request=s.DisbursementPrepareSerializer,
        parameters=[IDEMPOTENCY],
        responses={201: s.DisbursementSerializer, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request, *args, **kwargs):
        data = s.DisbursementPrepareSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        disbursement = disbursements.disbursement_prepare(
            actor=request.user, idempotency_key=_idempotency_key(request), **data.validated_data
        )
        return Response(s.DisbursementSerializer(disbursement).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: s.LoanDetailSerializer, 403: FORBIDDEN, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def authorise(self, request, pk=None):
        loan = disbursements.disbursement_authorise(actor=request.user, disbursement=self.get_object())
        loan = LoanViewSet.queryset.prefetch_related("schedule_versions", "collateral", "guarantees").get(pk=loan.pk)
        return Response(s.LoanDetailSerializer(loan).data)

    @extend_schema(request=s.CancelSerializer, responses={200: s.DisbursementSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        d = self.get_object()
        data = s.CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = disbursements.disbursement_cancel(actor=request.user, disbursement=d, **data.validated_data)
        return Response(s.DisbursementSerializer(d).data)


@extend_schema_view(list=extend_schema(responses=s.RepaymentSerializer(many=True)))
class RepaymentViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    scope_path = "loan__customer"
    queryset = Repayment.objects.select_related("loan", "posted_by", "reversed_by").order_by("-id")
    serializer_class = s.RepaymentSerializer
    filterset_fields = ("status", "channel", "kind")
    search_fields = ("=bank_reference", "=loan__loan_number")

    def get_permissions(self):
        if self.action == "create":
            return [require_perms("loans.post_repayment")()]
        if self.action == "reverse":
            return [require_perms("loans.reverse_repayment")()]
        return super().get_permissions()

    def get_queryset(self):
        qs = super().get_queryset()
        loan = self.request.query_params.get("loan")
        return qs.filter(loan__loan_number=loan) if loan else qs

    @extend_schema(
        request=s.RepaymentCreateSerializer,
        parameters=[IDEMPOTENCY],
        responses={201: s.RepaymentSerializer, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request, *args, **kwargs):
        data = s.RepaymentCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        repayment = repayments.repayment_post(
            actor=request.user,
            idempotency_key=_idempotency_key(request) or None,
            channel=Repayment.Channel.API,
            **data.validated_data,
        )
        return Response(s.RepaymentSerializer(repayment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReverseSerializer, responses={200: s.RepaymentSerializer, 403: FORBIDDEN, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        repayment = self.get_object()
        data = s.ReverseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        repayment = repayments.repayment_reverse(actor=request.user, repayment=repayment, **data.validated_data)
        return Response(s.RepaymentSerializer(repayment).data)
