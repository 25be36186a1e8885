"""``/api/v1/risk/`` (mounted under its prefix by loansite.api.urls)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from risk.api import views

app_name = "risk"

router = SimpleRouter()
router.register("transactions", views.TransactionViewSet, basename="transaction")
router.register("logins", views.LoginEventViewSet, basename="login")
router.register("events", views.RiskEventViewSet, basename="event")
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("rules", views.RiskRuleViewSet, basename="rule")

urlpatterns = [
    path("transactions/batch/", views.TransactionBatchView.as_view(), name="transaction-batch"),
    path("monitor/risk-events/", views.MonitorRiskEventsView.as_view(), name="monitor-risk-events"),
    path("monitor/risk-trend/", views.MonitorRiskTrendView.as_view(), name="monitor-risk-trend"),
    path("monitor/system-status/", views.MonitorSystemStatusView.as_view(), name="monitor-system-status"),
    *router.urls,
]
