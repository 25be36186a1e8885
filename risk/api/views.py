"""``/api/v1/risk/``: scoring transactions and logins, events, alerts and rules; thin callers."""

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from loansite.api.permissions import require_perms
from loansite.errors import ValidationFailed
from risk.api import serializers as s
from risk.inputs import login_input, transaction_input
from risk.models import Alert, LoginEvent, RiskEvent, RiskRule, Source, Transaction
from risk.services.events import (
    alert_acknowledge,
    alert_close,
    alert_note,
    risk_event_assign,
    risk_event_escalate,
    risk_event_note,
    risk_event_resolve,
)
from risk.services.ingest import BATCH_MAX, events_ingest


def _one(parse, data, source):
    item, errors = parse(data)
    if errors:
        raise ValidationFailed(_first(errors), extra={"errors": errors})
    outcome = events_ingest(items=[item], source=source)[0]
    return Response(outcome.as_dict(), status=status.HTTP_200_OK if outcome.duplicate else status.HTTP_201_CREATED)


def _first(errors: dict) -> str:
    field, message = next(iter(errors.items()))
    return f"{field}: {message}"


class TransactionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and read stored transactions; POST scores one synchronously."""

    queryset = Transaction.objects.select_related("device")
    serializer_class = s.TransactionSerializer
    filterset_fields = ["customer", "level", "source", "event"]
    ordering_fields = ["occurred_at", "score", "amount"]
    ordering = ["-occurred_at", "-id"]

    @extend_schema(request=s.TransactionInputSerializer, responses={201: s.ScoreResultSerializer})
    def create(self, request, *args, **kwargs):
        """Score one transaction: score, level, the rules hit and the risk event opened or
        updated (201; 200 with ``duplicate`` when its ``external_id`` is stored already)."""
        return _one(transaction_input, request.data, Source.API)


class TransactionBatchView(APIView):
    permission_classes = [require_perms("risk.add_transaction")]

    @extend_schema(request=s.BatchInputSerializer, responses={201: s.ScoreResultSerializer(many=True)})
    def post(self, request):
        """Up to 1,000 transactions and logins in one call, stored whole or not at all."""
        data = request.data if isinstance(request.data, dict) else {}
        raw_tx = data.get("transactions", [])
        raw_logins = data.get("logins", [])
        if not isinstance(raw_tx, list) or not isinstance(raw_logins, list) or not (raw_tx or raw_logins):
            raise ValidationFailed(_('Send {"transactions": [...]} and/or {"logins": [...]}.'))
        if len(raw_tx) + len(raw_logins) > BATCH_MAX:
            raise ValidationFailed(_("At most %(n)s events per call.") % {"n": BATCH_MAX})
        items, errors = [], {}
        now = timezone.now()  # "in the future" is judged against one time for the whole call
        for key, parse, raws in (("transactions", transaction_input, raw_tx), ("logins", login_input, raw_logins)):
            for index, raw in enumerate(raws):
                item, problems = parse(raw, now=now)
                if problems:
                    errors[f"{key}[{index}]"] = problems
                items.append(item)
        if errors:
            raise ValidationFailed(_("Some events are not valid; nothing was stored."), extra={"errors": errors})
        if not request.user.has_perm("risk.add_loginevent") and raw_logins:
            from loansite.errors import NotAllowed

            raise NotAllowed()
        outcomes = events_ingest(items=items, source=Source.API)
        results = [outcome.as_dict() for outcome in outcomes]
        return Response(
            {"transactions": results[: len(raw_tx)], "logins": results[len(raw_tx) :]},
            status=status.HTTP_201_CREATED,
        )


class LoginEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = LoginEvent.objects.select_related("device")
    serializer_class = s.LoginEventSerializer
    filterset_fields = ["customer", "user", "level", "success"]
    ordering = ["-occurred_at", "-id"]

    @extend_schema(responses={201: s.ScoreResultSerializer})
    def create(self, request, *args, **kwargs):
        """Record and score one customer login (e.g. from the portal)."""
        return _one(login_input, request.data, Source.API)


class RiskEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = RiskEvent.objects.select_related("assignee")
    filterset_fields = ["customer", "level", "status", "source"]
    ordering = ["-opened_at", "-id"]

    def get_serializer_class(self):
        return s.RiskEventDetailSerializer if self.action != "list" else s.RiskEventSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("entries__actor")
        return queryset

    def _event(self, pk):
        return get_object_or_404(RiskEvent, pk=pk)

    def _answer(self, event):
        event = self.get_queryset().prefetch_related("entries__actor").get(pk=event.pk)
        return Response(s.RiskEventDetailSerializer(event).data)

    @extend_schema(request=s.RiskEventAssignSerializer, responses=s.RiskEventDetailSerializer)
    @action(detail=True, methods=["post"], permission_classes=[require_perms("risk.handle_riskevent")])
    def assign(self, request, pk=None):
        event = self._event(pk)
        body = s.RiskEventAssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assignee = get_user_model().objects.filter(username=body.validated_data["assignee"]).first()
        return self._answer(risk_event_assign(actor=request.user, event=event, assignee=assignee))

    @extend_schema(request=s.NoteSerializer, responses=s.RiskEventDetailSerializer)
    @action(detail=True, methods=["post"], permission_classes=[require_perms("risk.handle_riskevent")])
    def note(self, request, pk=None):
        event = self._event(pk)
        body = s.NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        risk_event_note(actor=request.user, event=event, text=body.validated_data["text"])
        return self._answer(event)

    @extend_schema(request=s.EscalateSerializer, responses=s.RiskEventDetailSerializer)
    @action(detail=True, methods=["post"], permission_classes=[require_perms("risk.handle_riskevent")])
    def escalate(self, request, pk=None):
        event = self._event(pk)
        body = s.EscalateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(risk_event_escalate(actor=request.user, event=event, reason=body.validated_data["reason"]))

    @extend_schema(request=s.ResolveSerializer, responses=s.RiskEventDetailSerializer)
    @action(detail=True, methods=["post"], permission_classes=[require_perms("risk.handle_riskevent")])
    def resolve(self, request, pk=None):
        event = self._event(pk)
        body = s.ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(risk_event_resolve(actor=request.user, event=event, **body.validated_data))


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Alert.objects.select_related("assignee")
    filterset_fields = ["customer", "severity", "status", "source", "event"]
    ordering = ["-created_at", "-id"]

    def get_serializer_class(self):
        return s.AlertDetailSerializer if self.action != "list" else s.AlertSerializer

    def _answer(self, alert):
        return Response(s.AlertDetailSerializer(Alert.objects.prefetch_related("actions__actor").get(pk=alert.pk)).data)

    @extend_schema(request=None, responses=s.AlertDetailSerializer)
    @action(detail=True, methods=["post"], permission_classes=[require_perms("risk.handle_alert")])
    def acknowledge(self, request, pk=None):
        return self._answer(alert_acknowledge(actor=request.user, alert=get_object_or_404(Alert, pk=pk)))

    @extend_schema(request=s.NoteSerializer, responses=s.AlertDetailSerializer)
    @action(detail=True, methods=["post"], permission_classes=[require_perms("risk.handle_alert")])
    def note(self, request, pk=None):
        alert = get_object_or_404(Alert, pk=pk)
        body = s.NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert_note(actor=request.user, alert=alert, text=body.validated_data["text"])
        return self._answer(alert)

    @extend_schema(request=s.NoteSerializer, responses=s.AlertDetailSerializer)
    @action(detail=True, methods=["post"], permission_classes=[require_perms("risk.handle_alert")])
    def close(self, request, pk=None):
        alert = get_object_or_404(Alert, pk=pk)
        body = s.NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(alert_close(actor=request.user, alert=alert, note=body.validated_data["text"]))


class RiskRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The rules in force (edited in the admin: versioned, audited, simulated first)."""

    queryset = RiskRule.objects.all()
    serializer_class = s.RiskRuleSerializer
    ordering = ["code"]


class _MonitorView(APIView):
    permission_classes = [require_perms("risk.view_riskevent")]


class MonitorRiskEventsView(_MonitorView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        """Events by level and status, rule hit rates and time to resolve over ``days`` (default 30)."""
        from risk.monitoring import risk_events_summary

        return Response(risk_events_summary(days=_days(request)))


class MonitorRiskTrendView(_MonitorView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        """Per day: events opened by level, transactions scored and those above low."""
        from risk.monitoring import risk_trend

        return Response({"days": _days(request), "trend": risk_trend(days=_days(request))})


class MonitorSystemStatusView(_MonitorView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        """Database, broker, worker heartbeat, queue length, last beat run, last training, last
        daily close, disk."""
        from risk.monitoring import system_status

        return Response(system_status())


def _days(request) -> int:
    raw = request.query_params.get("days", "30")
    if not raw.isdigit() or not 1 <= int(raw) <= 366:
        raise ValidationFailed(_("days: a whole number from 1 to 366."))
    return int(raw)
