"""``/api/v1/portal/``: what the customers' mobile app reads and does (home, manager,
applications with apply / upload / answer, loans with schedule, payoff and downloads).

Portal tokens only (``PortalAPIView``); the customer is ``portal_customer(request)`` (header
``X-Customer-Id``, else the account's first). Every object is looked up through that
customer: another customer's id answers 404. Thin callers of ``selectors_portal`` and
``services_pages``; a domain error answers its status with the message.
"""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from customers.portal import selectors_portal as selectors
from customers.portal import services_pages as services
from customers.portal.api_auth import PortalAPIView
from customers.portal.auth import portal_customer
from loans import ratelimit
from loans.models import DocumentKind, Loan, LoanPurpose, RepaymentMethod
from loans.selectors import product_active_list
from loans.services.applications import OFFER_ANSWER_MAX
from loansite.errors import ApplicationError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CUSTOMER_HEADER = OpenApiParameter(
    "X-Customer-Id",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    required=False,
    description="The customer to act for (one the account holds); default: the account's first.",
)


def _error(exc: ApplicationError) -> Response:
    body = {"detail": str(exc.message)}
    errors = exc.extra.get("errors")
    if errors:
        body["errors"] = {key: [str(value)] for key, value in errors.items()}
    if exc.extra.get("missing"):
        body["missing"] = exc.extra["missing"]
    return Response(body, status=exc.status_code)


def _limited(request, scope: str, setting: str, default: str) -> bool:
    rate = getattr(settings, setting, default)
    return ratelimit.rate_limit_hit(scope=scope, key=f"account:{request.user.pk}", rate=rate)


def _too_many() -> Response:
    return Response({"detail": _("Too many requests in a short time; please try again later.")}, status=429)


# ---------------------------------------------------------------------------
# Serializers (output)
# ---------------------------------------------------------------------------
class PortalOfferSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    requested_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    term_months = serializers.IntegerField(allow_null=True)
    requested_term_months = serializers.IntegerField()
    annual_rate_percent = serializers.DecimalField(max_digits=8, decimal_places=4, allow_null=True)
    method = serializers.CharField()
    requested_method = serializers.CharField()
    response = serializers.CharField(
        help_text="pending: waiting for your answer (POST applications/{id}/offer/); accepted; declined; "
        "empty when no answer is asked for."
    )
    responded_at = serializers.DateTimeField(allow_null=True)


class PortalApplicationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    reference = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.SerializerMethodField()
    product = serializers.CharField(source="product.display_name")
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    term_months = serializers.IntegerField()
    purpose = serializers.CharField()
    repayment_method = serializers.CharField()
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    offer = serializers.SerializerMethodField()

    def get_status_label(self, obj) -> str:
        return selectors.portal_application_status(obj)

    @extend_schema_field(PortalOfferSerializer(allow_null=True))
    def get_offer(self, obj):
        offer = selectors.portal_application_offer(obj)
        return PortalOfferSerializer(offer).data if offer else None


class PortalDocumentRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    note = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class PortalDocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    file_name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class PortalApplicationDetailSerializer(PortalApplicationSerializer):
    return_reason = serializers.SerializerMethodField()
    document_requests = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField()

    def get_return_reason(self, obj) -> str:
        return selectors.portal_application_return_reason(obj)

    @extend_schema_field(PortalDocumentRequestSerializer(many=True))
    def get_document_requests(self, obj):
        from loans.selectors.documents import document_requests_for_application

        return PortalDocumentRequestSerializer(document_requests_for_application(obj), many=True).data

    @extend_schema_field(PortalDocumentSerializer(many=True))
    def get_documents(self, obj):
        from loans.selectors.documents import document_list_for_customer

        return PortalDocumentSerializer(document_list_for_customer(obj.customer_id, application=obj), many=True).data


class PortalApplySerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=product_active_list())
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=1)
    term_months = serializers.IntegerField(min_value=1, max_value=600)
    purpose = serializers.ChoiceField(choices=LoanPurpose.choices, required=False, allow_blank=True, default="")
    repayment_method = serializers.ChoiceField(
        choices=RepaymentMethod.choices, required=False, allow_blank=True, default=""
    )
    consent = serializers.BooleanField()
    submission_token = serializers.RegexField(
        r"^[A-Za-z0-9_-]{16,64}$",
        help_text="One per application the app prepares: the same token sent again returns the same application.",
    )

    def validate_consent(self, value):
        if not value:
            raise serializers.ValidationError(_("Your consent is needed to assess the application."))
        return value


class PortalAnswerSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=services.ANSWER_MAX, required=False, allow_blank=True, default="")


class PortalOfferAnswerSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(choices=["accept", "decline"])
    note = serializers.CharField(max_length=OFFER_ANSWER_MAX, required=False, allow_blank=True, default="")


class PortalUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    file = serializers.FileField()


class PortalLoanSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    loan_number = serializers.CharField()
    status = serializers.CharField()
    product = serializers.CharField(source="product.display_name")
    principal = serializers.DecimalField(max_digits=16, decimal_places=2)
    annual_rate = serializers.DecimalField(max_digits=7, decimal_places=4)
    term_months = serializers.IntegerField()
    method = serializers.CharField()
    disbursement_date = serializers.DateField()
    maturity_date = serializers.DateField()
    outstanding_principal = serializers.DecimalField(max_digits=16, decimal_places=2)
    next_due_date = serializers.DateField(allow_null=True)
    next_due_amount = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    days_past_due = serializers.IntegerField()


class PortalInstallmentSerializer(serializers.Serializer):
    number = serializers.IntegerField(source="row.number")
    due_date = serializers.DateField(source="row.due_date")
    pay_date = serializers.DateField(source="row.pay_date")
    principal = serializers.DecimalField(source="row.principal", max_digits=16, decimal_places=2)
    interest = serializers.DecimalField(source="row.interest", max_digits=16, decimal_places=2)
    penalty = serializers.DecimalField(source="row.penalty", max_digits=16, decimal_places=2)
    total = serializers.DecimalField(max_digits=16, decimal_places=2)
    paid = serializers.DecimalField(max_digits=16, decimal_places=2)
    unpaid = serializers.DecimalField(max_digits=16, decimal_places=2)
    status = serializers.CharField()
    status_label = serializers.CharField()


class PortalRepaymentSerializer(serializers.Serializer):
    value_date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    kind = serializers.CharField()
    status = serializers.CharField()
    to_principal = serializers.DecimalField(source="allocated_principal", max_digits=16, decimal_places=2)
    to_interest = serializers.DecimalField(source="allocated_interest", max_digits=16, decimal_places=2)
    to_penalty = serializers.DecimalField(source="allocated_penalty", max_digits=16, decimal_places=2)
    to_fees = serializers.DecimalField(source="allocated_fee", max_digits=16, decimal_places=2)
    to_credit = serializers.DecimalField(source="allocated_credit", max_digits=16, decimal_places=2)


class PortalPayoffSerializer(serializers.Serializer):
    on_date = serializers.DateField()
    arrears = serializers.DecimalField(max_digits=16, decimal_places=2)
    principal = serializers.DecimalField(max_digits=16, decimal_places=2)
    interest = serializers.DecimalField(max_digits=16, decimal_places=2)
    fee = serializers.DecimalField(max_digits=16, decimal_places=2)
    paid_ahead = serializers.DecimalField(max_digits=16, decimal_places=2)
    credit_held = serializers.DecimalField(max_digits=16, decimal_places=2)
    total = serializers.DecimalField(max_digits=16, decimal_places=2)


class PortalLoanDetailSerializer(serializers.Serializer):
    loan = PortalLoanSerializer()
    arrears = serializers.DecimalField(max_digits=16, decimal_places=2)
    schedule = PortalInstallmentSerializer(many=True)
    repayments = PortalRepaymentSerializer(many=True)
    payoff = PortalPayoffSerializer(allow_null=True)


class PortalReasonSerializer(serializers.Serializer):
    component = serializers.CharField()
    title = serializers.CharField()
    text = serializers.CharField()
    points = serializers.FloatField()
    max_points = serializers.FloatField()


class PortalManagerSerializer(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.CharField()
    branch = serializers.CharField()
    city = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    matched = serializers.BooleanField()
    score = serializers.FloatField(allow_null=True)
    reasons = PortalReasonSerializer(many=True)


class PortalHomeSerializer(serializers.Serializer):
    customer = serializers.SerializerMethodField()
    applications = serializers.DictField(child=serializers.IntegerField())
    recent_applications = PortalApplicationSerializer(many=True)
    loans = serializers.SerializerMethodField()
    next_loans = PortalLoanSerializer(many=True)
    manager = PortalManagerSerializer(allow_null=True)
    recent_messages = serializers.IntegerField()

    def get_customer(self, obj) -> dict:
        return {"id": obj.customer.pk, "name": obj.customer.name}

    def get_loans(self, obj) -> dict:
        loans = obj.loans
        return {
            "live": loans["live"],
            "closed": loans["closed"],
            "overdue": loans["overdue"],
            "outstanding": str(loans["outstanding"]),
            "next_due_date": loans["next_due_date"].isoformat() if loans["next_due_date"] else None,
            "next_due_amount": str(loans["next_due_amount"]),
        }


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------
class HomeView(PortalAPIView):
    """The selected customer's summary: applications, loans and next payment, manager, messages."""

    @extend_schema(parameters=[CUSTOMER_HEADER], responses=PortalHomeSerializer)
    def get(self, request):
        summary = selectors.portal_home(customer=portal_customer(request), account=request.user)
        return Response(PortalHomeSerializer(summary).data)


class ManagerView(PortalAPIView):
    """The relationship manager and why they were matched (the score's components in words)."""

    @extend_schema(parameters=[CUSTOMER_HEADER], responses=PortalManagerSerializer)
    def get(self, request):
        card = selectors.portal_manager(customer=portal_customer(request))
        if card is None:
            raise Http404
        return Response(PortalManagerSerializer(card).data)


class ApplicationListView(PortalAPIView):
    """The customer's applications (GET), or a new application filed and submitted (POST)."""

    @extend_schema(parameters=[CUSTOMER_HEADER], responses=PortalApplicationSerializer(many=True))
    def get(self, request):
        apps = selectors.portal_applications(customer=portal_customer(request))
        return Response(PortalApplicationSerializer(apps, many=True).data)

    @extend_schema(
        parameters=[CUSTOMER_HEADER], request=PortalApplySerializer, responses={201: PortalApplicationDetailSerializer}
    )
    def post(self, request):
        customer = portal_customer(request)
        serializer = PortalApplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        from loans.services.public import public_submission_find

        earlier = public_submission_find(data["submission_token"])
        if earlier is not None and earlier.customer_id == customer.pk:
            return Response(PortalApplicationDetailSerializer(earlier).data, status=status.HTTP_200_OK)
        if _limited(request, "portal-apply", "PORTAL_APPLY_RATE", "10/h"):
            return _too_many()
        try:
            app = services.portal_application_submit(
                account=request.user,
                customer=customer,
                product=data["product"],
                amount=data["amount"],
                term_months=data["term_months"],
                purpose=data["purpose"],
                repayment_method=data["repayment_method"],
                submission_token=data["submission_token"],
            )
        except ApplicationError as exc:
            return _error(exc)
        app = selectors.portal_applications(customer=customer).get(pk=app.pk)
        return Response(PortalApplicationDetailSerializer(app).data, status=status.HTTP_201_CREATED)


def _application(request, pk):
    return get_object_or_404(selectors.portal_applications(customer=portal_customer(request)), pk=pk)


class ApplicationDetailView(PortalAPIView):
    """One application: status, counter-offer, what the officer asked for, documents sent."""

    @extend_schema(parameters=[CUSTOMER_HEADER], responses=PortalApplicationDetailSerializer)
    def get(self, request, pk):
        return Response(PortalApplicationDetailSerializer(_application(request, pk)).data)


class ApplicationDocumentView(PortalAPIView):
    """Upload a document to an application (multipart: ``kind``, ``file``); it fulfils the
    officer's open request for that kind. Checked by content, not by name."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        parameters=[CUSTOMER_HEADER], request=PortalUploadSerializer, responses={201: PortalDocumentSerializer}
    )
    def post(self, request, pk):
        from loans.services.documents import document_upload

        app = _application(request, pk)
        if app.status not in selectors.UPLOAD_STATUSES:
            return Response({"detail": _("This application takes no documents now.")}, status=409)
        serializer = PortalUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if _limited(request, "portal-upload", "PORTAL_UPLOAD_RATE", "30/h"):
            return _too_many()
        upload = serializer.validated_data["file"]
        try:
            document = document_upload(
                customer=portal_customer(request),
                kind=serializer.validated_data["kind"],
                file=upload,
                original_name=upload.name,
                application=app,
                portal_account=request.user,
            )
        except ApplicationError as exc:
            return _error(exc)
        return Response(PortalDocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class ApplicationAnswerView(PortalAPIView):
    """Send an application returned for information back to the bank (409 when it is not
    waiting for an answer; 400 with ``missing`` while requested documents are not in)."""

    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        parameters=[CUSTOMER_HEADER], request=PortalAnswerSerializer, responses=PortalApplicationDetailSerializer
    )
    def post(self, request, pk):
        app = _application(request, pk)
        serializer = PortalAnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.portal_application_answer(
                account=request.user,
                customer=portal_customer(request),
                application=app,
                message=serializer.validated_data["message"],
            )
        except ApplicationError as exc:
            return _error(exc)
        return Response(PortalApplicationDetailSerializer(_application(request, pk)).data)


class ApplicationOfferView(PortalAPIView):
    """Accept or decline a counter-offer waiting for your answer (409 when none waits).
    Declining closes the application."""

    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        parameters=[CUSTOMER_HEADER], request=PortalOfferAnswerSerializer, responses=PortalApplicationDetailSerializer
    )
    def post(self, request, pk):
        app = _application(request, pk)
        serializer = PortalOfferAnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.portal_application_offer_answer(
                account=request.user,
                customer=portal_customer(request),
                application=app,
                accept=serializer.validated_data["answer"] == "accept",
                note=serializer.validated_data["note"],
            )
        except ApplicationError as exc:
            return _error(exc)
        return Response(PortalApplicationDetailSerializer(_application(request, pk)).data)


class DocumentDownloadView(PortalAPIView):
    """One of the customer's documents (the file; audited)."""

    @extend_schema(parameters=[CUSTOMER_HEADER], responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        from loans.selectors.documents import document_get_for_portal
        from loans.services.documents import document_open
        from loansite.errors import NotFound

        try:
            document = document_get_for_portal(portal_customer(request), pk)
            handle = document_open(document=document, portal_account=request.user)
        except NotFound:
            raise Http404 from None
        from loans.admin_documents import document_download_response

        # As for staff: an attachment of the detected type, never sniffed, sandboxed, not cached.
        return document_download_response(document, handle)


class LoanListView(PortalAPIView):
    @extend_schema(parameters=[CUSTOMER_HEADER], responses=PortalLoanSerializer(many=True))
    def get(self, request):
        return Response(PortalLoanSerializer(selectors.portal_loans(customer=portal_customer(request)), many=True).data)


def _loan(request, pk) -> Loan:
    return get_object_or_404(Loan.objects.select_related("product").filter(customer=portal_customer(request)), pk=pk)


class LoanDetailView(PortalAPIView):
    """A loan: terms, the schedule with each installment's status, repayments, arrears and
    today's payoff quote (none for a loan no longer live)."""

    @extend_schema(parameters=[CUSTOMER_HEADER], responses=PortalLoanDetailSerializer)
    def get(self, request, pk):
        loan = _loan(request, pk)
        account = selectors.portal_loan_account(loan=loan)
        return Response(
            PortalLoanDetailSerializer(
                {
                    "loan": loan,
                    "arrears": account.arrears,
                    "schedule": account.schedule,
                    "repayments": account.repayments,
                    "payoff": account.payoff,
                }
            ).data
        )


class LoanPayoffView(PortalAPIView):
    """What settles the loan on a day (``on``, today by default, up to the maturity date)."""

    @extend_schema(
        parameters=[CUSTOMER_HEADER, OpenApiParameter("on", OpenApiTypes.DATE, required=False)],
        responses=PortalPayoffSerializer,
    )
    def get(self, request, pk):
        loan = _loan(request, pk)
        if not loan.is_live:
            return Response({"detail": _("This loan is no longer running.")}, status=409)
        today = timezone.localdate()
        on = today
        if request.query_params.get("on"):
            field = serializers.DateField()
            try:
                on = field.to_internal_value(request.query_params["on"])
            except serializers.ValidationError as exc:
                return Response({"on": exc.detail}, status=400)
            if on < today or on > max(loan.maturity_date, today):
                return Response({"on": [_("Choose a day from today to the loan's maturity date.")]}, status=400)
        return Response(PortalPayoffSerializer(selectors.portal_loan_payoff(loan=loan, on_date=on)).data)


def _attachment(name: str, content: bytes, content_type: str = XLSX) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class LoanPlanView(PortalAPIView):
    """The repayment plan (XLSX, bilingual headers; audited)."""

    @extend_schema(parameters=[CUSTOMER_HEADER], responses={(200, XLSX): OpenApiTypes.BINARY})
    def get(self, request, pk):
        loan = _loan(request, pk)
        name, content = services.portal_loan_plan_download(
            account=request.user, customer=portal_customer(request), loan=loan
        )
        return _attachment(name, content)


class LoanStatementView(PortalAPIView):
    """The statement: every repayment and its allocation (XLSX; audited)."""

    fmt, content_type = "xlsx", XLSX

    @extend_schema(parameters=[CUSTOMER_HEADER], responses={(200, XLSX): OpenApiTypes.BINARY})
    def get(self, request, pk):
        loan = _loan(request, pk)
        name, content = services.portal_loan_statement_download(
            account=request.user, customer=portal_customer(request), loan=loan, fmt=self.fmt
        )
        return _attachment(name, content, self.content_type)


class LoanStatementPdfView(LoanStatementView):
    """The statement as a printable PDF: the loan's facts, every repayment, the totals (audited)."""

    fmt, content_type = "pdf", "application/pdf"

    @extend_schema(parameters=[CUSTOMER_HEADER], responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        return super().get(request, pk)
