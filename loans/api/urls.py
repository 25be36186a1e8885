from rest_framework.routers import SimpleRouter

from loans.api.delinquency_views import ClassificationChangeViewSet, DayCloseViewSet, DelinquencyViewSet
from loans.api.servicing_views import DisbursementViewSet, LoanViewSet, RepaymentViewSet
from loans.api.views import ApplicationViewSet, ProductViewSet

app_name = "loans"

router = SimpleRouter()
router.register("loans/products", ProductViewSet, basename="product")
router.register("loans/applications", ApplicationViewSet, basename="application")
router.register("loans/loans", LoanViewSet, basename="loan")
router.register("loans/disbursements", DisbursementViewSet, basename="disbursement")
router.register("loans/repayments", RepaymentViewSet, basename="repayment")
router.register("loans/delinquency", DelinquencyViewSet, basename="delinquency")
router.register("loans/classification-changes", ClassificationChangeViewSet, basename="classification-change")
router.register("loans/day-closes", DayCloseViewSet, basename="day-close")

urlpatterns = router.urls
