from rest_framework.routers import SimpleRouter

from loans.api.views import ApplicationViewSet, ProductViewSet

app_name = "loans"

router = SimpleRouter()
router.register("loans/products", ProductViewSet, basename="product")
router.register("loans/applications", ApplicationViewSet, basename="application")

urlpatterns = router.urls
