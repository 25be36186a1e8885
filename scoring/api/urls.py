"""``/api/v1/scoring/`` (mounted under its prefix by loansite.api.urls)."""

from django.urls import path

from scoring.api import views

app_name = "scoring"

urlpatterns = [
    path("predict/", views.PredictView.as_view(), name="predict"),
    path("models/", views.ModelVersionList.as_view(), name="model-list"),
    path("models/rollback/", views.ModelVersionRollback.as_view(), name="model-rollback"),
    path("models/<int:pk>/", views.ModelVersionDetail.as_view(), name="model-detail"),
    path("models/<int:pk>/activate/", views.ModelVersionActivate.as_view(), name="model-activate"),
    path("models/<int:pk>/retire/", views.ModelVersionRetire.as_view(), name="model-retire"),
    path("train/", views.TrainView.as_view(), name="train"),
    path("train-file/", views.TrainFileView.as_view(), name="train-file"),
    path("models/<int:pk>/predict-rows/", views.ModelVersionPredictRows.as_view(), name="model-predict-rows"),
    path("batch-score/", views.BatchScoreView.as_view(), name="batch-score"),
    path("training-runs/", views.TrainingRunList.as_view(), name="training-run-list"),
    path("training-runs/<int:pk>/", views.TrainingRunDetail.as_view(), name="training-run-detail"),
    path("scoring-runs/", views.ScoringRunList.as_view(), name="scoring-run-list"),
    path("scoring-runs/<int:pk>/", views.ScoringRunDetail.as_view(), name="scoring-run-detail"),
]
