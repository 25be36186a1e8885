"""``/api/v1/documents/``: list (filter by customer, application, loan, kind), upload (multipart)
and download, with the admin's checks: ``loans.view_document`` / ``loans.add_document`` and the
customer in the user's book (another book's document answers 404); every upload and download
audited by the services."""

import django_filters
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from loans.admin_documents import document_download_response
from loans.api.documents_serializers import DocumentSerializer, DocumentUploadSerializer
from loans.api.serializers import ErrorSerializer
from loans.models import Document, DocumentKind, Loan, LoanApplication
from loans.selectors.documents import document_customer_accessible, document_get_for_staff, document_list_for_staff
from loans.services.documents import (
    PERM_ADD_DOCUMENT,
    PERM_VIEW_DOCUMENT,
    document_open,
    document_too_large_message,
    document_upload,
)
from loansite.api.permissions import require_perms
from loansite.errors import NotFound, ValidationFailed


class DocumentFilter(django_filters.FilterSet):
    customer = django_filters.NumberFilter(field_name="customer_id")
    application = django_filters.NumberFilter(field_name="application_id")
    loan = django_filters.NumberFilter(field_name="loan_id")
    kind = django_filters.MultipleChoiceFilter(choices=DocumentKind.choices)
    uploaded_from = django_filters.DateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Document
        fields = []


@extend_schema_view(
    list=extend_schema(responses=DocumentSerializer(many=True)),
    retrieve=extend_schema(responses=DocumentSerializer),
)
class DocumentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Document.objects.none()  # the real set comes from the selector (role + book)
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilter
    search_fields = ("original_name",)
    ordering_fields = ("created_at", "size")

    def get_queryset(self):
        return document_list_for_staff(self.request.user).order_by("-created_at", "-id")

    def get_permissions(self):
        if self.action == "create":
            return [require_perms(PERM_VIEW_DOCUMENT, PERM_ADD_DOCUMENT)()]
        return [require_perms(PERM_VIEW_DOCUMENT)()]

    def _target(self, data):
        """The customer, application and loan named (the customer follows the loan or the
        application); one the user cannot see answers 404."""
        from customers.models import Customer

        application = loan = None
        if data.get("loan"):
            loan = Loan.objects.select_related("customer").filter(pk=data["loan"]).first()
            if loan is None:
                raise NotFound()
            customer = loan.customer
        if data.get("application"):
            application = LoanApplication.objects.select_related("customer").filter(pk=data["application"]).first()
            if application is None or application.customer_id is None:
                raise NotFound()
            if loan is not None and loan.application_id != application.pk:
                raise ValidationFailed("The loan is not the application's loan.")
            customer = application.customer
        if loan is None and application is None:
            customer = Customer.objects.filter(pk=data["customer"]).first()
            if customer is None:
                raise NotFound()
        if data.get("customer") and data["customer"] != customer.pk:
            raise ValidationFailed("The customer is not the application's or the loan's customer.")
        if not document_customer_accessible(self.request.user, customer.pk):
            raise NotFound()
        return customer, application, loan

    @extend_schema(
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={
            201: DocumentSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Refused file (type, size, damage) or bad input"),
            404: OpenApiResponse(ErrorSerializer, description="No such customer, application or loan"),
        },
    )
    def create(self, request, *args, **kwargs):
        payload = request.data  # parsing the upload sets the flag below
        if getattr(request._request, "upload_too_large", False):  # reading stopped at the upload limit
            raise ValidationFailed(document_too_large_message())
        data = DocumentUploadSerializer(data=payload)
        data.is_valid(raise_exception=True)
        customer, application, loan = self._target(data.validated_data)
        upload = data.validated_data["file"]
        document = document_upload(
            actor=request.user,
            customer=customer,
            application=application,
            loan=loan,
            kind=data.validated_data["kind"],
            file=upload,
            original_name=upload.name,
        )
        document = self.get_queryset().get(pk=document.pk)
        return Response(self.get_serializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/octet-stream"): bytes, 404: OpenApiResponse(ErrorSerializer)})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        try:
            document = document_get_for_staff(request.user, pk)
        except NotFound:
            raise Http404 from None
        handle = document_open(actor=request.user, document=document)
        return document_download_response(document, handle)
