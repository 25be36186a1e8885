from django.urls import path
from rest_framework.routers import SimpleRouter

from customers.api import ratings, views

app_name = "customers"

router = SimpleRouter()
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("tags", views.TagViewSet, basename="tag")
router.register("managers", views.ManagerViewSet, basename="manager")
router.register("assignments", views.AssignmentViewSet, basename="assignment")
router.register("rating-changes", ratings.CustomerRatingViewSet, basename="rating-change")

urlpatterns = [
    path("assignments/reassign/", views.ReassignView.as_view(), name="assignment-reassign"),
    path("matching/run/", views.RunMatchingView.as_view(), name="matching-run"),
    path("customers/<int:pk>/rating/", ratings.CustomerRatingChangeView.as_view(), name="customer-rating"),
    path("customers/<int:pk>/rate/", ratings.CustomerRateView.as_view(), name="customer-rate"),
    path("matching/tasks/<str:task_id>/", views.MatchingTaskStatusView.as_view(), name="matching-task"),
    *router.urls,
]
