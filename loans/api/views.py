"""``/api/v1/loans/``: products, applications and their transitions (thin callers of the services)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from customers.masking import application_identifiers_viewed, identifiers_visible
from loans import services
from loans.api import serializers as s
from loans.api.filters import ApplicationFilter
from loans.api.servicing_serializers import DecidedTermsSerializer
from loans.models import Channel, LoanApplication, LoanProduct
from loansite.api.permissions import require_perms
from loansite.scoping import ScopedViewSetMixin

CONFLICT = OpenApiResponse(s.ErrorSerializer, description="Illegal transition or concurrent change")
FORBIDDEN = OpenApiResponse(s.ErrorSerializer, description="Role, authority or maker-checker refuses")

# endpoint -> (service, permission)
TRANSITIONS = {
    "submit": (services.application_submit, "loans.submit_loanapplication"),
    "review": (services.application_start_review, "loans.review_loanapplication"),
    "approve": (services.application_approve, "loans.approve_loanapplication"),
    "reject": (services.application_reject, "loans.approve_loanapplication"),
    "return_for_info": (services.application_return, "loans.review_loanapplication"),
    "withdraw": (services.application_withdraw, "loans.change_loanapplication"),
    "cancel": (services.application_cancel, "loans.approve_loanapplication"),
}


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = LoanProduct.objects.order_by("code")
    serializer_class = s.ProductSerializer
    filterset_fields = ("active", "purpose")
    search_fields = ("code", "name")


@extend_schema_view(
    list=extend_schema(responses=s.ApplicationOutputSerializer(many=True)),
    retrieve=extend_schema(responses=s.ApplicationDetailSerializer),
)
class ApplicationViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = LoanApplication.objects.select_related(
        "customer", "product", "created_by", "submitted_by", "reviewer", "decided_by"
    ).order_by("submitted_at", "id")
    filterset_class = ApplicationFilter
    search_fields = ("=reference", "customer__name", "=customer__credit_code", "=customer__phone")
    ordering_fields = ("submitted_at", "created_at", "amount", "score_points")

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.ApplicationDetailSerializer
        return s.ApplicationOutputSerializer

    def get_permissions(self):
        if self.action in TRANSITIONS:
            return [require_perms(TRANSITIONS[self.action][1])()]
        if self.action == "assign":
            return [require_perms("loans.review_loanapplication")()]
        if self.action == "verify_identity":
            return [require_perms("loans.verify_identity_loanapplication")()]
        if self.action == "offer_answer":
            return [require_perms("loans.change_loanapplication")()]
        return super().get_permissions()

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action == "retrieve":
            qs = qs.prefetch_related("decisions__decider")
        return qs

    def retrieve(self, request, *args, **kwargs):
        app = self.get_object()
        if identifiers_visible(request.user):
            application_identifiers_viewed(actor=request.user, application=app, where="api")
        return Response(self.get_serializer(app).data)

    def get_serializer_context(self):
        # One application in full (phone, claimed ID number) for users who may see identifiers.
        context = super().get_serializer_context()
        if self.action == "retrieve":
            context["identifiers_full"] = identifiers_visible(self.request.user)
        return context

    def _out(self, app, code=status.HTTP_200_OK):
        app = self.get_queryset().get(pk=app.pk)
        context = {"identifiers_full": identifiers_visible(self.request.user)}
        return Response(s.ApplicationDetailSerializer(app, context=context).data, status=code)

    @extend_schema(request=s.ApplicationCreateSerializer, responses={201: s.ApplicationDetailSerializer})
    def create(self, request, *args, **kwargs):
        data = s.ApplicationCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        app = services.application_create(actor=request.user, channel=Channel.API, **data.validated_data)
        return self._out(app, status.HTTP_201_CREATED)

    @extend_schema(request=s.ApplicationUpdateSerializer, responses={200: s.ApplicationDetailSerializer, 409: CONFLICT})
    def update(self, request, *args, **kwargs):
        app = self.get_object()
        data = s.ApplicationUpdateSerializer(data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        app = services.application_update(actor=request.user, application=app, **data.validated_data)
        return self._out(app)

    @extend_schema(request=s.ApplicationUpdateSerializer, responses={200: s.ApplicationDetailSerializer, 409: CONFLICT})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def _transition(self, request, name):
        app = self.get_object()
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service = TRANSITIONS[name][0]
        app = service(actor=request.user, application=app, reason=data.validated_data["reason"])
        return self._out(app)

    _schema = {
        "request": s.ReasonSerializer,
        "responses": {200: s.ApplicationDetailSerializer, 403: FORBIDDEN, 409: CONFLICT},
    }

    @extend_schema(**_schema)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._transition(request, "submit")

    @extend_schema(**_schema)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        return self._transition(request, "review")

    @extend_schema(
        request=DecidedTermsSerializer,
        responses={200: s.ApplicationDetailSerializer, 403: FORBIDDEN, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve on decided terms: each term left out is the earlier approver's of this round,
        else the request (and the product's rate for the grade)."""
        app = self.get_object()
        data = DecidedTermsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        app = services.application_approve(actor=request.user, application=app, **data.validated_data)
        return self._out(app)

    @extend_schema(**_schema)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._transition(request, "reject")

    @extend_schema(**_schema)
    @action(detail=True, methods=["post"], url_path="return")
    def return_for_info(self, request, pk=None):
        return self._transition(request, "return_for_info")

    @extend_schema(**_schema)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._transition(request, "withdraw")

    @extend_schema(**_schema)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._transition(request, "cancel")

    @extend_schema(
        request=s.VerifyIdentitySerializer,
        responses={200: s.ApplicationDetailSerializer, 403: FORBIDDEN, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="verify-identity")
    def verify_identity(self, request, pk=None):
        """Resolve an application pending identity verification: ``verified`` links it to the
        customer on file and submits it; ``rejected`` (with a reason) ends it."""
        app = self.get_object()
        data = s.VerifyIdentitySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        app = services.application_verify_identity(actor=request.user, application=app, **data.validated_data)
        return self._out(app)

    @extend_schema(
        request=s.OfferAnswerSerializer,
        responses={200: s.ApplicationDetailSerializer, 403: FORBIDDEN, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="offer-answer")
    def offer_answer(self, request, pk=None):
        """Record the applicant's answer to a counter-offer given to the bank (the portal's
        customers answer themselves): ``accept`` lets it be disbursed, ``decline`` cancels the
        approval and gives the credit line back its draw. 409 when no counter-offer waits."""
        app = self.get_object()
        data = s.OfferAnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        app = services.application_offer_answer(
            actor=request.user,
            application=app,
            accept=data.validated_data["answer"] == "accept",
            reason=data.validated_data["reason"],
        )
        return self._out(app)

    @extend_schema(request=s.AssignSerializer, responses={200: s.ApplicationDetailSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        app = self.get_object()
        data = s.AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        app = services.application_assign_reviewer(actor=request.user, application=app, **data.validated_data)
        return self._out(app)
