"""``/api/v1/`` customers, tags, managers, assignments and matching: thin callers of the services."""

from celery.result import AsyncResult
from django.db import transaction
from django.db.models import Count
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import AuditAction
from audit.services import audit_record, changes_between, model_snapshot
from customers.api import serializers as s
from customers.api.filters import AssignmentFilter, CustomerFilter
from customers.masking import customer_identifiers_viewed, identifiers_visible
from customers.models import Assignment, Customer, MatchingRun, RelationshipManager, Tag
from customers.services import customer_create, customer_reassign, customer_update, matching_run_start
from loansite.api.permissions import require_perms
from loansite.scoping import ScopedViewSetMixin


class CustomerViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Customer.objects.select_related("manager__user").prefetch_related("tags", "needs", "interests")
    scope_path = ""  # an officer's own book only (loansite/scoping.py)
    filterset_class = CustomerFilter
    search_fields = ["name", "=credit_code", "=id_number", "=phone"]
    ordering_fields = ["name", "monthly_revenue", "created_at", "rating"]
    ordering = ["name"]

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return s.CustomerInputSerializer
        if self.action == "retrieve":
            return s.CustomerDetailSerializer
        return s.CustomerOutputSerializer

    def retrieve(self, request, *args, **kwargs):
        return Response(self._detail(self.get_object()))

    def _detail(self, customer) -> dict:
        """One customer: full ID and phone numbers for users who may see them, each time audited."""
        full = identifiers_visible(self.request.user)
        if full:
            customer_identifiers_viewed(actor=self.request.user, customer=customer, where="api")
        context = {**self.get_serializer_context(), "identifiers_full": full}
        return s.CustomerDetailSerializer(customer, context=context).data

    @extend_schema(request=s.CustomerInputSerializer, responses={201: s.CustomerDetailSerializer})
    def create(self, request, *args, **kwargs):
        serializer = s.CustomerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_create(actor=request.user, **serializer.validated_data)
        return Response(self._detail(customer), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CustomerInputSerializer, responses=s.CustomerDetailSerializer)
    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        customer = self.get_object()
        serializer = s.CustomerInputSerializer(customer, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        customer = customer_update(actor=request.user, customer=customer, **serializer.validated_data)
        return Response(self._detail(self.get_queryset().get(pk=customer.pk)))


class TagViewSet(viewsets.ModelViewSet):
    queryset = Tag.objects.all()
    serializer_class = s.TagSerializer
    search_fields = ["name"]

    @transaction.atomic
    def perform_create(self, serializer):
        tag = serializer.save()
        audit_record(action=AuditAction.CREATE, actor=self.request.user, target=tag, changes=model_snapshot(tag))

    @transaction.atomic
    def perform_update(self, serializer):
        before = model_snapshot(serializer.instance)
        tag = serializer.save()
        audit_record(
            action=AuditAction.UPDATE,
            actor=self.request.user,
            target=tag,
            changes=changes_between(before, model_snapshot(tag)),
        )

    @transaction.atomic
    def perform_destroy(self, instance):
        target = (instance._meta.label_lower, instance.pk, str(instance))
        snapshot = model_snapshot(instance)
        instance.delete()
        audit_record(action=AuditAction.DELETE, actor=self.request.user, target=target, changes={"deleted": snapshot})


class ManagerViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = RelationshipManager.objects.select_related("user").annotate(load=Count("customers"))
    serializer_class = s.ManagerSerializer
    filterset_fields = ["city", "active", "seniority"]
    ordering = ["user__username"]


class AssignmentViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Assignment.objects.select_related("customer", "manager__user")
    serializer_class = s.AssignmentSerializer
    filterset_class = AssignmentFilter
    ordering = ["-created_at", "-id"]


class ReassignView(APIView):
    permission_classes = [require_perms("customers.reassign_customer")]

    @extend_schema(request=s.ReassignInputSerializer, responses={201: s.AssignmentSerializer})
    def post(self, request):
        serializer = s.ReassignInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment = customer_reassign(actor=request.user, **serializer.validated_data)
        return Response(s.AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


class RunMatchingView(APIView):
    permission_classes = [require_perms("customers.run_matching")]

    @extend_schema(request=s.MatchingRunInputSerializer, responses={202: s.MatchingRunSerializer})
    def post(self, request):
        serializer = s.MatchingRunInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = matching_run_start(actor=request.user, scope=serializer.validated_data["scope"])
        run.refresh_from_db()
        return Response(s.MatchingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class MatchingTaskStatusView(APIView):
    permission_classes = [require_perms("customers.view_matchingrun")]

    @extend_schema(responses=s.TaskStatusSerializer)
    def get(self, request, task_id: str):
        run = get_object_or_404(MatchingRun, task_id=task_id)
        # The run row is the source of truth once finished; the broker's state covers queued/progress.
        state = {MatchingRun.Status.DONE: "SUCCESS", MatchingRun.Status.FAILED: "FAILURE"}.get(run.status)
        state = state or AsyncResult(task_id).state
        data = {"task_id": task_id, "state": state, "run": s.MatchingRunSerializer(run).data}
        return Response(s.TaskStatusSerializer(data).data)
