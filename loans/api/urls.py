from rest_framework.routers import SimpleRouter

from loans.api.automation_views import AutomatedDecisionViewSet
from loans.api.collections_views import (
    CollectionsViewSet,
    ContactViewSet,
    LegalCaseViewSet,
    PromiseViewSet,
    RecoveryViewSet,
    WriteOffViewSet,
)
from loans.api.delinquency_views import ClassificationChangeViewSet, DayCloseViewSet, DelinquencyViewSet
from loans.api.documents_views import DocumentViewSet
from loans.api.servicing_views import DisbursementViewSet, LoanViewSet, RepaymentViewSet
from loans.api.views import ApplicationViewSet, ProductViewSet

app_name = "loans"

router = SimpleRouter()
router.register("loans/products", ProductViewSet, basename="product")
router.register("documents", DocumentViewSet, basename="document")
router.register("loans/applications", ApplicationViewSet, basename="application")
router.register("loans/automated-decisions", AutomatedDecisionViewSet, basename="automated-decision")
router.register("loans/loans", LoanViewSet, basename="loan")
router.register("loans/disbursements", DisbursementViewSet, basename="disbursement")
router.register("loans/repayments", RepaymentViewSet, basename="repayment")
router.register("loans/delinquency", DelinquencyViewSet, basename="delinquency")
router.register("loans/classification-changes", ClassificationChangeViewSet, basename="classification-change")
router.register("loans/day-closes", DayCloseViewSet, basename="day-close")
router.register("loans/collections", CollectionsViewSet, basename="collections")
router.register("loans/collection-contacts", ContactViewSet, basename="collection-contact")
router.register("loans/promises", PromiseViewSet, basename="promise")
router.register("loans/legal-cases", LegalCaseViewSet, basename="legal-case")
router.register("loans/write-offs", WriteOffViewSet, basename="write-off")
router.register("loans/recoveries", RecoveryViewSet, basename="recovery")

urlpatterns = router.urls
