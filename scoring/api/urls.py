from django.urls import path

from scoring.api import views

app_name = "scoring"

urlpatterns = [
    path("scoring/predict/", views.PredictView.as_view(), name="predict"),
    path("scoring/models/", views.ModelVersionList.as_view(), name="model-list"),
    path("scoring/models/rollback/", views.ModelVersionRollback.as_view(), name="model-rollback"),
    path("scoring/models/<int:pk>/", views.ModelVersionDetail.as_view(), name="model-detail"),
    path("scoring/models/<int:pk>/activate/", views.ModelVersionActivate.as_view(), name="model-activate"),
    path("scoring/models/<int:pk>/retire/", views.ModelVersionRetire.as_view(), name="model-retire"),
    path("scoring/train/", views.TrainView.as_view(), name="train"),
    path("scoring/train-file/", views.TrainFileView.as_view(), name="train-file"),
    path("scoring/models/<int:pk>/predict-rows/", views.ModelVersionPredictRows.as_view(), name="model-predict-rows"),
    path("scoring/batch-score/", views.BatchScoreView.as_view(), name="batch-score"),
    path("scoring/training-runs/", views.TrainingRunList.as_view(), name="training-run-list"),
    path("scoring/training-runs/<int:pk>/", views.TrainingRunDetail.as_view(), name="training-run-detail"),
    path("scoring/scoring-runs/", views.ScoringRunList.as_view(), name="scoring-run-list"),
    path("scoring/scoring-runs/<int:pk>/", views.ScoringRunDetail.as_view(), name="scoring-run-detail"),
]
