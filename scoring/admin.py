"""Scoring in the admin: the model registry (model page with metrics and PSI drift,
activate / retire / rollback), training and batch scoring buttons, run progress, score
rows, outcomes and the prediction page. Every button calls a service."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import AuditedModelAdmin, ReadOnlyAdminMixin
from loans.models import LoanProduct
from loansite.admin_progress import ProgressRefreshMixin
from loansite.errors import ApplicationError
from loansite.scoping import ScopedAdminMixin
from loansite.tabular import tabular_size_message
from scoring.forms import PredictFileForm, PredictionForm, SchemaEditForm, TrainFileForm, VersionActionForm
from scoring.models import (
    LoanOutcome,
    ModelKind,
    ModelVersion,
    RunStatus,
    Score,
    ScoringRun,
    TrainingDataset,
    TrainingRun,
)
from scoring.reasons import reason_text
from scoring.selectors import (
    active_versions,
    model_version_drift,
    rollback_target,
    scoring_runs_recent,
    training_runs_recent,
)
from scoring.services import (
    batch_score_queue,
    model_train_queue,
    model_version_activate,
    model_version_retire,
    model_version_rollback,
    prediction_make,
)
from scoring.services.datasets import (
    file_model_predict,
    file_model_train_queue,
    file_predictions_csv,
    predict_file_max_rows,
    table_frame,
    training_dataset_set_schema,
    training_dataset_upload,
)

TRAIN_PERM = "scoring.train_model"


def metric_label(metrics: dict) -> str:
    """The headline metric of a model's kind, named: AUC for classifiers, R² for the limit estimator."""
    if metrics.get("auc") is not None:
        return f"AUC {metrics['auc']}"
    if metrics.get("r2") is not None:
        return f"R² {metrics['r2']}"
    return "—"


ACTIVATE_PERM = "scoring.activate_modelversion"


# The algorithms the trainers record, by name in the reader's language (the code on hover).
ALGORITHM_LABELS = {
    "woe_logistic_scorecard": _("WoE logistic scorecard"),
    "hist_gradient_boosting": _("gradient boosting"),
    "hist_gradient_boosting_regressor": _("gradient boosting (regression)"),
    "random_forest_5": _("random forest"),
    "random_forest_6": _("random forest"),
    "one_hot_logistic": _("one-hot logistic regression"),
}


def algorithm_label(code: str) -> str:
    return str(ALGORITHM_LABELS.get(code, code))


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    @admin.display(description=_("algorithm"), ordering="algorithm")
    def algorithm_shown(self, obj):
        return algorithm_label(obj.algorithm)

    list_display = [
        "label_display",
        "kind",
        "status",
        "algorithm_shown",
        "holdout_metric",
        "ks",
        "baseline_metric",
        "training_rows",
        "trained_at",
        "activated_at",
    ]
    list_filter = ["kind", "status"]
    ordering = ["kind", "-version"]
    show_full_result_count = False
    change_list_template = "admin/scoring/modelversion/change_list.html"
    change_form_template = "admin/scoring/modelversion/change_form.html"
    fields = [
        "kind",
        "version",
        "status",
        "algorithm",
        "training_rows",
        "data_hash",
        "artifact_size",
        "trained_by",
        "created_at",
        "trained_at",
        "activated_at",
        "retired_at",
        "error",
        "params",
        "features",
        "library_versions",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("artifact", "reference").select_related("trained_by")

    @admin.display(description=_("version"), ordering="version")
    def label_display(self, obj):
        return obj.label

    @admin.display(description=_("hold-out metric"))
    def holdout_metric(self, obj):
        return metric_label((obj.metrics or {}).get("holdout", {}))

    @admin.display(description=_("KS"))
    def ks(self, obj):
        return (obj.metrics or {}).get("holdout", {}).get("ks", "—")

    @admin.display(description=_("baseline, same split"))
    def baseline_metric(self, obj):
        return metric_label((obj.metrics or {}).get("baseline", {}))

    # -- URLs ---------------------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("train/", wrap(self.train_view), name="scoring_modelversion_train"),
            path("batch-score/", wrap(self.batch_score_view), name="scoring_modelversion_batch_score"),
            path("rollback/", wrap(self.rollback_view), name="scoring_modelversion_rollback"),
            path("predict/", wrap(self.predict_view), name="scoring_modelversion_predict"),
            path("train-file/", wrap(self.train_file_view), name="scoring_modelversion_train_file"),
            path(
                "train-file/<int:dataset_id>/schema/",
                wrap(self.train_file_schema_view),
                name="scoring_modelversion_train_file_schema",
            ),
            path("<int:pk>/predict-file/", wrap(self.predict_file_view), name="scoring_modelversion_predict_file"),
            path("<int:pk>/report/", wrap(self.report_view), name="scoring_modelversion_report"),
            path("<int:pk>/report.pdf", wrap(self.report_pdf_view), name="scoring_modelversion_report_pdf"),
            path("<int:pk>/activate/", wrap(self.activate_view), name="scoring_modelversion_activate"),
            path("<int:pk>/retire/", wrap(self.retire_view), name="scoring_modelversion_retire"),
            *super().get_urls(),
        ]

    def _changelist(self):
        return HttpResponseRedirect(reverse("admin:scoring_modelversion_changelist"))

    def _require(self, request, perm):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(perm):
            raise PermissionDenied
        return None

    def _run(self, request, call, success):
        try:
            result = call()
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
            return None
        messages.success(request, success(result))
        return result

    def train_view(self, request):
        if (refused := self._require(request, TRAIN_PERM)) is not None:
            return refused
        kind = request.POST.get("kind", "")
        self._run(
            request,
            lambda: model_train_queue(kind=kind, actor=request.user),
            lambda run: (
                _("Training of %(kind)s queued (run #%(id)s).") % {"kind": run.get_kind_display(), "id": run.pk}
            ),
        )
        return self._changelist()

    def batch_score_view(self, request):
        if (refused := self._require(request, TRAIN_PERM)) is not None:
            return refused
        scope = request.POST.get("scope", ScoringRun.Scope.PENDING)
        self._run(
            request,
            lambda: batch_score_queue(scope=scope, actor=request.user),
            lambda run: (
                _("Batch scoring of %(scope)s queued (run #%(id)s).") % {"scope": run.get_scope_display(), "id": run.pk}
            ),
        )
        return self._changelist()

    def rollback_view(self, request):
        if (refused := self._require(request, ACTIVATE_PERM)) is not None:
            return refused
        self._run(
            request,
            lambda: model_version_rollback(
                kind=request.POST.get("kind", ""), actor=request.user, reason=request.POST.get("reason", "")
            ),
            lambda v: _("Rolled back: %(label)s is active again.") % {"label": v.label},
        )
        return self._changelist()

    def _version_action(self, request, pk, service, message, *, action):
        """GET: the confirmation page (what changes, a reason to give); POST with a reason:
        the service (audited with that reason)."""
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if not request.user.has_perm(ACTIVATE_PERM):
            raise PermissionDenied
        version = get_object_or_404(ModelVersion.objects.defer("artifact", "reference"), pk=pk)
        form = VersionActionForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            done = self._run(
                request,
                lambda: service(version=version, actor=request.user, reason=form.cleaned_data["reason"]),
                lambda v: message % {"label": v.label},
            )
            if done is not None or "confirm" not in request.POST:
                return HttpResponseRedirect(reverse("admin:scoring_modelversion_change", args=[pk]))
        current = (
            ModelVersion.objects.filter(kind=version.kind, status=ModelVersion.Status.ACTIVE)
            .exclude(pk=version.pk)
            .defer("artifact", "reference")
            .first()
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Activate %(label)s?") % {"label": version.label}
            if action == "activate"
            else _("Retire %(label)s?") % {"label": version.label},
            "version": version,
            "current": current if action == "activate" else None,
            "action": action,
            "form": form,
            "holdout_metric": metric_label((version.metrics or {}).get("holdout", {})),
            "baseline_metric": metric_label((version.metrics or {}).get("baseline", {})),
        }
        return TemplateResponse(request, "admin/scoring/modelversion/confirm_action.html", context)

    # -- train from a file ---------------------------------------------------------
    def _page(self, request, template: str, title, **context):
        return TemplateResponse(
            request,
            template,
            {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context},
        )

    def train_file_view(self, request):
        """Upload a data set with its target (and a schema, or edit the detected one next)."""
        if not request.user.has_perm(TRAIN_PERM):
            raise PermissionDenied
        form = TrainFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST":
            if getattr(request, "upload_too_large", False):
                form.is_valid()
                form.errors["data_file"] = form.error_class([tabular_size_message()])
            elif form.is_valid():
                upload = form.cleaned_data["data_file"]
                schema = form.cleaned_data["schema_json"]
                try:
                    dataset = training_dataset_upload(
                        actor=request.user,
                        data=upload.read(),
                        file_name=upload.name,
                        target=form.cleaned_data["target"],
                        schema=schema,
                    )
                    if schema is None:
                        return HttpResponseRedirect(
                            reverse("admin:scoring_modelversion_train_file_schema", args=[dataset.pk])
                        )
                    run = file_model_train_queue(actor=request.user, dataset=dataset)
                except ApplicationError as exc:
                    form.add_error(None, str(exc.message))
                else:
                    messages.success(
                        request, _("Training on %(file)s queued (run #%(id)s).") % {"file": upload.name, "id": run.pk}
                    )
                    return self._changelist()
        return self._page(request, "admin/scoring/modelversion/train_file.html", _("Train from a file"), form=form)

    def train_file_schema_view(self, request, dataset_id):
        """The detected columns of an uploaded data set, each type and direction editable."""
        if not request.user.has_perm(TRAIN_PERM):
            raise PermissionDenied
        dataset = get_object_or_404(TrainingDataset.objects.defer("content"), pk=dataset_id)
        form = SchemaEditForm(request.POST or None, schema=dataset.schema)
        if request.method == "POST" and form.is_valid():
            try:
                training_dataset_set_schema(actor=request.user, dataset=dataset, schema=form.schema_json())
                run = file_model_train_queue(actor=request.user, dataset=dataset)
            except ApplicationError as exc:
                form.add_error(None, str(exc.message))
            else:
                messages.success(
                    request,
                    _("Training on %(file)s queued (run #%(id)s).") % {"file": dataset.file_name, "id": run.pk},
                )
                return self._changelist()
        return self._page(
            request,
            "admin/scoring/modelversion/train_file.html",
            _("Columns of %(file)s") % {"file": dataset.file_name},
            schema_form=form,
            dataset=dataset,
        )

    def predict_file_view(self, request, pk):
        """Score the rows of a file with a scorecard trained from a file: a CSV back."""
        if not request.user.has_perm("scoring.view_score"):
            raise PermissionDenied
        version = get_object_or_404(ModelVersion.objects.defer("artifact", "reference"), pk=pk)
        form = PredictFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                frame, _format = table_frame(form.cleaned_data["data_file"].read(), max_rows=predict_file_max_rows())
                results = file_model_predict(actor=request.user, version=version, frame=frame)
            except ApplicationError as exc:
                form.add_error(None, str(exc.message))
            else:
                return file_predictions_csv(frame, results, name=f"{version.label}-predictions.csv")
        return self._page(
            request,
            "admin/scoring/modelversion/predict_file.html",
            _("Predict with %(label)s") % {"label": version.label},
            form=form,
            version=version,
            columns=[c["name"] for c in (version.params or {}).get("schema", {}).get("columns", [])],
        )

    # -- model report -------------------------------------------------------------
    def _report_version(self, request, pk):
        if not request.user.has_perm("scoring.view_modelversion"):
            raise PermissionDenied
        return get_object_or_404(ModelVersion.objects.defer("artifact"), pk=pk)

    def report_view(self, request, pk):
        from scoring.report import model_report_html

        version = self._report_version(request, pk)
        return HttpResponse(model_report_html(version=version, actor=request.user))

    def report_pdf_view(self, request, pk):
        from scoring.report import model_report_pdf

        version = self._report_version(request, pk)
        response = HttpResponse(model_report_pdf(version=version, actor=request.user), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="model-report-{version.label}.pdf"'
        return response

    def activate_view(self, request, pk):
        return self._version_action(
            request, pk, model_version_activate, _("%(label)s is now active."), action="activate"
        )

    def retire_view(self, request, pk):
        return self._version_action(request, pk, model_version_retire, _("%(label)s is retired."), action="retire")

    # -- pages --------------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        training_runs, scoring_runs = training_runs_recent(5), scoring_runs_recent(5)
        extra = {
            # A scorecard from a file is trained from its upload page, not with a button here.
            "kinds": [c for c in ModelKind.choices if c[0] != ModelKind.FILE_PD],
            "scopes": ScoringRun.Scope.choices,
            "active": active_versions(),
            "rollback": {k: rollback_target(kind=k) for k, _label in ModelKind.choices},
            "training_runs": training_runs,
            "scoring_runs": scoring_runs,
            # The page reloads itself while a run is queued or running (loansite/auto_refresh.js).
            "runs_active": any(
                run.status in (RunStatus.QUEUED, RunStatus.RUNNING) for run in [*training_runs, *scoring_runs]
            ),
            "can_train": request.user.has_perm(TRAIN_PERM),
            "can_activate": request.user.has_perm(ACTIVATE_PERM),
        }
        return super().changelist_view(request, extra_context={**extra, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = ModelVersion.objects.filter(pk=object_id).defer("artifact").first()
        extra = {}
        if version is not None:
            metrics = version.metrics or {}
            drift = {"rows": [], "recent": 0}
            if version.status in (ModelVersion.Status.ACTIVE, ModelVersion.Status.READY, ModelVersion.Status.RETIRED):
                try:
                    drift = model_version_drift(version=version)
                except ApplicationError as exc:
                    messages.warning(request, str(exc.message))
            extra = {
                "version": version,
                "holdout": metrics.get("holdout", {}),
                "baseline": metrics.get("baseline", {}),
                "cv": metrics.get("cv", {}),
                "candidate": metrics.get("candidate", {}),
                "scorecard_rows": metrics.get("scorecard", []),
                "drift": drift,
                "psi_warning": any(r["warning"] for r in drift["rows"]),
                "can_activate": request.user.has_perm(ACTIVATE_PERM),
                "can_move_active": ModelVersion.can_move(version.status, ModelVersion.Status.ACTIVE),
                "can_move_retired": ModelVersion.can_move(version.status, ModelVersion.Status.RETIRED),
            }
        return super().change_view(request, object_id, form_url, extra_context={**extra, **(extra_context or {})})

    def predict_view(self, request):
        if not request.user.has_perm("scoring.view_score"):
            raise PermissionDenied
        products = list(LoanProduct.objects.filter(active=True).values_list("code", "name"))
        form = PredictionForm(request.POST or None, products=products)
        result = None
        if request.method == "POST" and form.is_valid():
            try:
                result = prediction_make(inputs=form.inputs())
            except ApplicationError as exc:
                messages.error(request, str(exc.message))
            else:
                result["reason_lines"] = [
                    {"code": r["code"], "text": reason_text(r), "points_lost": r["points_lost"]}
                    for r in result.get("reasons", [])
                ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Credit prediction"),
            "form": form,
            "result": result,
        }
        return TemplateResponse(request, "admin/scoring/predict.html", context)


class _ProgressMixin:
    @admin.display(description=_("progress"))
    def progress(self, obj):
        return f"{obj.percent}%"

    @admin.display(description=_("stage"), ordering="stage")
    def stage_shown(self, obj):
        # The worker records the stage in English ("Done"): shown in the reader's language.
        return gettext(obj.stage) if obj.stage else ""


@admin.register(TrainingRun)
class TrainingRunAdmin(ProgressRefreshMixin, _ProgressMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "status",
        "progress",
        "stage_shown",
        "rows",
        "model_version",
        "requested_by",
        "created_at",
    ]
    list_filter = ["kind", "status"]
    list_select_related = ["model_version", "requested_by"]
    show_full_result_count = False
    readonly_fields = ["model_version"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("model_version__artifact", "model_version__reference")


@admin.register(ScoringRun)
class ScoringRunAdmin(ProgressRefreshMixin, _ProgressMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "scope", "status", "progress", "done", "total", "written", "requested_by", "created_at"]
    list_filter = ["scope", "status"]
    list_select_related = ["requested_by"]
    show_full_result_count = False


@admin.register(Score)
class ScoreAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    # An officer sees the scores of their own book's applications only (loansite.scoping).
    scope_path = "application__customer"
    list_display = ["application", "model_version", "probability", "points", "grade", "value", "created_at"]
    list_filter = ["model_version__kind", "grade"]
    list_select_related = ["application", "model_version"]
    raw_id_fields = ["application"]
    search_fields = ["application__reference"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("model_version__artifact", "model_version__reference")


@admin.register(LoanOutcome)
class LoanOutcomeAdmin(ScopedAdminMixin, AuditedModelAdmin, admin.ModelAdmin):
    scope_path = "application__customer"
    list_display = ["application", "defaulted", "source", "observed_at"]
    list_filter = ["defaulted", "source"]
    list_select_related = ["application"]
    raw_id_fields = ["application"]
    search_fields = ["application__reference"]
    show_full_result_count = False


from scoring import admin_decision  # noqa: E402,F401
