"""``/api/v1/scoring/``: prediction, the model registry, training and batch scoring runs."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from loansite.api.permissions import require_perms
from scoring.api.serializers import (
    BatchScoreInputSerializer,
    FileRowsInputSerializer,
    ModelVersionSerializer,
    PredictionInputSerializer,
    PredictionOutputSerializer,
    ReasonInputSerializer,
    RollbackInputSerializer,
    ScoringRunSerializer,
    TrainFileInputSerializer,
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
from scoring.services.datasets import file_model_predict, file_model_train_queue, training_dataset_upload


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


class ModelVersionPredictRows(APIView):
    """Probability of default, points, grade and reasons of JSON rows, from a scorecard trained
    from a file (the columns it was trained with); nothing is stored."""

    permission_classes = [require_perms("scoring.view_score")]

    @extend_schema(request=FileRowsInputSerializer, responses={200: dict})
    def post(self, request, pk: int):
        import pandas as pd

        serializer = FileRowsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = get_object_or_404(ModelVersion.objects.defer("artifact", "reference"), pk=pk)
        frame = pd.DataFrame(serializer.validated_data["rows"], dtype=object)
        results = file_model_predict(actor=request.user, version=version, frame=frame)
        return Response({"model_version": version.label, "results": results})


class TrainFileView(APIView):
    """Upload a data set (CSV or XLSX, multipart) with its target and schema; training is queued."""

    permission_classes = [require_perms("scoring.train_model")]

    @extend_schema(request=TrainFileInputSerializer, responses={202: TrainingRunSerializer})
    def post(self, request):
        serializer = TrainFileInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        schema = serializer.validated_data.get("schema")
        if isinstance(schema, str):
            import json

            try:
                schema = json.loads(schema)
            except ValueError:
                return Response({"schema": ["Not valid JSON."]}, status=status.HTTP_400_BAD_REQUEST)
        dataset = training_dataset_upload(
            actor=request.user,
            data=upload.read(),
            file_name=upload.name,
            target=serializer.validated_data["target"],
            schema=schema,
        )
        run = file_model_train_queue(actor=request.user, dataset=dataset)
        run.refresh_from_db()
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
