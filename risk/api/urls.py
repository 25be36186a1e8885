from django.urls import path
from rest_framework.routers import SimpleRouter

from risk.api import views

app_name = "risk"

router = SimpleRouter()
router.register("risk/transactions", views.TransactionViewSet, basename="transaction")
router.register("risk/logins", views.LoginEventViewSet, basename="login")
router.register("risk/events", views.RiskEventViewSet, basename="event")
router.register("risk/alerts", views.AlertViewSet, basename="alert")
router.register("risk/rules", views.RiskRuleViewSet, basename="rule")

urlpatterns = [
    path("risk/transactions/batch/", views.TransactionBatchView.as_view(), name="transaction-batch"),
    path("risk/monitor/risk-events/", views.MonitorRiskEventsView.as_view(), name="monitor-risk-events"),
    path("risk/monitor/risk-trend/", views.MonitorRiskTrendView.as_view(), name="monitor-risk-trend"),
    path("risk/monitor/system-status/", views.MonitorSystemStatusView.as_view(), name="monitor-system-status"),
    *router.urls,
]
