"""``/api/v1/scoring/``: prediction, the model registry, training and batch scoring runs."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from loansite.api.permissions import require_perms
from scoring.api.serializers import (
    BatchScoreInputSerializer,
    ModelVersionSerializer,
    PredictionInputSerializer,
    PredictionOutputSerializer,
    ReasonInputSerializer,
    RollbackInputSerializer,
    ScoringRunSerializer,
    TrainingRunSerializer,
    TrainInputSerializer,
)
from scoring.models import ModelVersion, ScoringRun, TrainingRun
from scoring.services import (
    batch_score_queue,
    model_train_queue,
    model_version_activate,
    model_version_retire,
    model_version_rollback,
    prediction_make,
)


class PredictView(APIView):
    """Probability of default, points, grade and reasons from the active models."""

    permission_classes = [require_perms("scoring.view_score")]

    @extend_schema(request=PredictionInputSerializer, responses={200: PredictionOutputSerializer})
    def post(self, request):
        serializer = PredictionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        inputs = {k: v for k, v in serializer.validated_data.items() if v not in (None, "")}
        return Response(PredictionOutputSerializer(prediction_make(inputs=inputs)).data)


class ModelVersionList(generics.ListAPIView):
    queryset = ModelVersion.objects.defer("artifact").order_by("kind", "-version")
    serializer_class = ModelVersionSerializer
    filterset_fields = ["kind", "status"]


class ModelVersionDetail(generics.RetrieveAPIView):
    queryset = ModelVersion.objects.defer("artifact")
    serializer_class = ModelVersionSerializer


class _VersionAction(APIView):
    permission_classes = [require_perms("scoring.activate_modelversion")]
    service = None

    @extend_schema(request=ReasonInputSerializer, responses={200: ModelVersionSerializer})
    def post(self, request, pk: int):
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = get_object_or_404(ModelVersion.objects.defer("artifact"), pk=pk)
        version = type(self).service(version=version, actor=request.user, reason=serializer.validated_data["reason"])
        return Response(ModelVersionSerializer(version).data)


class ModelVersionActivate(_VersionAction):
    service = staticmethod(model_version_activate)


class ModelVersionRetire(_VersionAction):
    service = staticmethod(model_version_retire)


class ModelVersionRollback(APIView):
    permission_classes = [require_perms("scoring.activate_modelversion")]

    @extend_schema(request=RollbackInputSerializer, responses={200: ModelVersionSerializer})
    def post(self, request):
        serializer = RollbackInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = model_version_rollback(actor=request.user, **serializer.validated_data)
        return Response(ModelVersionSerializer(version).data)


class TrainView(APIView):
    permission_classes = [require_perms("scoring.train_model")]

    @extend_schema(request=TrainInputSerializer, responses={202: TrainingRunSerializer})
    def post(self, request):
        serializer = TrainInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = model_train_queue(kind=serializer.validated_data["kind"], actor=request.user)
        run.refresh_from_db()
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class BatchScoreView(APIView):
    permission_classes = [require_perms("scoring.train_model")]

    @extend_schema(request=BatchScoreInputSerializer, responses={202: ScoringRunSerializer})
    def post(self, request):
        serializer = BatchScoreInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = batch_score_queue(scope=serializer.validated_data["scope"], actor=request.user)
        run.refresh_from_db()
        return Response(ScoringRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class TrainingRunList(generics.ListAPIView):
    queryset = TrainingRun.objects.select_related("model_version").order_by("-created_at")
    serializer_class = TrainingRunSerializer


class TrainingRunDetail(generics.RetrieveAPIView):
    queryset = TrainingRun.objects.select_related("model_version")
    serializer_class = TrainingRunSerializer


class ScoringRunList(generics.ListAPIView):
    queryset = ScoringRun.objects.order_by("-created_at")
    serializer_class = ScoringRunSerializer


class ScoringRunDetail(generics.RetrieveAPIView):
    queryset = ScoringRun.objects.all()
    serializer_class = ScoringRunSerializer
