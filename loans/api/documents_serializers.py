"""Serializers of ``/api/v1/documents/``: what a document is (never where it is stored)."""

from django.urls import reverse
from rest_framework import serializers

from loans.models import Document, DocumentKind, DocumentRequest


class DocumentSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    uploaded_by = serializers.SerializerMethodField()
    channel = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "customer",
            "application",
            "loan",
            "kind",
            "kind_label",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "channel",
            "created_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_uploaded_by(self, obj) -> str:
        return obj.uploaded_by.get_username() if obj.uploaded_by_id else ""

    def get_download_url(self, obj) -> str:
        return reverse("api:loans:document-download", args=[obj.pk])

    def get_channel(self, obj) -> str:
        return "portal" if obj.uploaded_through_portal else "staff"


class DocumentUploadSerializer(serializers.Serializer):
    """Multipart: ``file`` plus the customer, or an application or a loan (the customer follows)."""

    file = serializers.FileField(allow_empty_file=False, use_url=False)
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    customer = serializers.IntegerField(required=False, min_value=1)
    application = serializers.IntegerField(required=False, min_value=1)
    loan = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs):
        if not any(attrs.get(name) for name in ("customer", "application", "loan")):
            raise serializers.ValidationError("Name the customer, the application or the loan.")
        return attrs


class DocumentRequestSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = DocumentRequest
        fields = [
            "id",
            "application",
            "kind",
            "kind_label",
            "note",
            "status",
            "fulfilled_by",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields
