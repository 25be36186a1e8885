"""Scorecards on any data: a declared schema (text, number-coded and boolean categoricals,
numbers with sentinels and infinite values) trains through the worker path and predicts
from rows with the same columns, in the admin and the API."""

import io

import numpy as np
import pandas as pd
import pytest
from django.urls import reverse

from loansite.errors import NotAllowed, ValidationFailed
from scoring.models import ModelKind, ModelVersion, TrainingDataset
from scoring.schema import DataSchema, canonical, schema_prepare, schema_target
from scoring.services import model_train
from scoring.services.datasets import file_model_predict, training_dataset_upload
from scoring.synthetic_file import SCHEMA, mixed_credit_csv, mixed_credit_frame
from scoring.training import train_file_pd


def test_a_category_is_one_level_whatever_its_dtype():
    assert canonical(3) == canonical(3.0) == canonical("3") == canonical(" 3 ") == "3"
    assert canonical(True) == canonical("TRUE") == canonical("yes") == "true"
    assert canonical(None) == canonical(float("nan")) == canonical("") == canonical(float("inf")) == "unknown"
    frame = pd.DataFrame({"flag": ["TRUE", "0", "1", "false"], "code": [1, "1", 2.0, "2"], "x": [1, 2, 3, 4]})
    schema = DataSchema.from_json(
        {
            "target": "y",
            "columns": [
                {"name": "flag", "type": "categorical"},
                {"name": "code", "type": "categorical"},
                {"name": "x", "type": "numeric"},
            ],
        }
    )
    features, _warnings = schema_prepare(frame, schema, fitting=True)
    assert features["flag"].tolist() == ["true", "false", "true", "false"]  # 1/0 in a yes/no column
    assert features["code"].tolist() == ["1", "1", "2", "2"]


def test_inf_and_sentinels_are_missing_and_unusable_columns_are_reported_not_dropped_silently():
    frame = pd.DataFrame(
        {
            "income": [1000, -1, np.inf, "n/a", 2500, -np.inf],
            "empty": [None] * 6,
            "same": ["a"] * 6,
            "y": [0, 1, 0, 1, 0, 1],
        }
    )
    schema = DataSchema.from_json(
        {
            "target": "y",
            "columns": [
                {"name": "income", "type": "numeric", "special_values": [-1]},
                {"name": "empty", "type": "numeric"},
                {"name": "same", "type": "categorical"},
            ],
        }
    )
    features, warnings = schema_prepare(frame, schema, fitting=True)
    assert features["income"].isna().tolist() == [False, True, True, True, False, True]
    reported = {w["column"] for w in warnings}
    assert {"income", "empty", "same"} <= reported
    assert list(features.columns) == ["income"]


def test_a_mixed_schema_trains_and_the_categoricals_carry_the_signal():
    frame = mixed_credit_frame(rows=6000, seed=3)
    schema = DataSchema.from_json(SCHEMA)
    y = schema_target(frame, schema)
    result = train_file_pd(frame, y, schema=schema, cv_folds=3)
    sc = result.artifact.scorecard
    for name in ("region", "employment", "product_code", "has_guarantor"):
        assert name in sc.bins and sc.bins[name].kind == "categorical", name
    assert {"region", "employment", "product_code"} <= set(sc.selected)
    assert set(sc.bins["product_code"].levels) >= {"1", "3", "5"}  # codes stay codes
    assert result.metrics["holdout"]["auc"] > 0.7
    cv = result.metrics["cv"]
    assert cv["folds"] == 3 and cv["baseline_auc_mean"] > 0.6 and abs(cv["auc_mean"] - cv["baseline_auc_mean"]) < 0.05
    assert any("infinite" in w["message"] for w in result.metrics["warnings"] if w["column"] == "debt_ratio")


@pytest.mark.django_db
def test_train_from_a_file_through_the_worker_path_and_predict_rows(make_user):
    ops = make_user("ops", role="Model ops")
    dataset = training_dataset_upload(
        actor=ops, data=mixed_credit_csv(rows=4000, seed=5), file_name="history.csv", target="default", schema=SCHEMA
    )
    version = model_train(kind=ModelKind.FILE_PD, actor=ops, params={"dataset_id": dataset.pk, "cv_folds": 2})
    assert version.status == ModelVersion.Status.READY and version.kind == ModelKind.FILE_PD
    assert version.data_hash == dataset.sha256 and version.metrics["baseline"]["algorithm"] == "one_hot_logistic"
    row = {
        "region": "west",
        "employment": "contract",
        "product_code": 3,
        "has_guarantor": True,
        "owns_home": "no",
        "income": 4000,
        "debt_ratio": 0.9,
        "age": 33,
        "months_at_address": 12,
    }
    same = {**row, "product_code": "3", "has_guarantor": "yes"}  # the same applicant, other spellings
    # A sentinel and an infinite ratio are "not known", exactly as empty cells are.
    sentinel = {**row, "income": -1, "debt_ratio": float("inf")}
    empty = {**row, "income": None, "debt_ratio": ""}
    frame = pd.DataFrame([row, same, sentinel, empty], dtype=object)
    results = file_model_predict(actor=ops, version=version, frame=frame)
    assert results[0] == results[1]
    assert 0 < results[0]["probability_of_default"] < 1 and results[0]["grade"] in "ABCDE"
    assert results[2] == results[3] and results[2] != results[0]
    with pytest.raises(ValidationFailed):
        file_model_predict(actor=ops, version=version, frame=pd.DataFrame([{"region": "west"}]))


@pytest.mark.django_db
def test_bad_uploads_are_form_errors_not_500s(make_user):
    ops = make_user("ops", role="Model ops")
    for data, target, message in (
        (b"\x89PNG....", "default", "not a CSV"),
        (b"a,b\n1,2\n", "default", "no column"),
        (b"a,default\n1,0\n2,0\n", "default", "two values"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            training_dataset_upload(actor=ops, data=data, file_name="x.csv", target=target)
        assert message in str(caught.value.message), caught.value.message
    approver = make_user("approver", role="Credit approver")
    with pytest.raises(NotAllowed):
        training_dataset_upload(actor=approver, data=mixed_credit_csv(rows=100), file_name="x.csv", target="default")
    assert not TrainingDataset.objects.exists()


@pytest.mark.django_db
def test_admin_upload_edit_the_detected_schema_train_and_predict_a_file(
    client, make_user, django_capture_on_commit_callbacks
):
    client.force_login(make_user("ops", role="Model ops"))
    upload = io.BytesIO(mixed_credit_csv(rows=3000, seed=8))
    upload.name = "history.csv"
    response = client.post(reverse("admin:scoring_modelversion_train_file"), {"data_file": upload, "target": "default"})
    dataset = TrainingDataset.objects.get()
    assert response.status_code == 302 and str(dataset.pk) in response["Location"]
    page = client.get(response["Location"])
    names = [row[0] for row in page.context["schema_form"].rows]
    assert names == [c["name"] for c in SCHEMA["columns"]]
    form = page.context["schema_form"]
    data = {}
    for i, name in enumerate(names):
        spec = next(c for c in SCHEMA["columns"] if c["name"] == name)
        data[f"type_{i}"] = spec["type"]
        data[f"direction_{i}"] = spec.get("direction", "none")
        data[f"special_{i}"] = ", ".join(str(v) for v in spec.get("special_values", []))
    assert form.initial is not None
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response["Location"], data)
    assert response.status_code == 302
    version = ModelVersion.objects.get(kind=ModelKind.FILE_PD)
    assert version.status == ModelVersion.Status.READY, version.error
    assert version.params["schema"]["columns"][5]["special_values"] == [-1.0]
    rows = io.BytesIO(mixed_credit_csv(rows=20, seed=9))
    rows.name = "rows.csv"
    scored = client.post(reverse("admin:scoring_modelversion_predict_file", args=[version.pk]), {"data_file": rows})
    assert scored.status_code == 200 and scored["Content-Type"].startswith("text/csv")
    body = scored.content.decode("utf-8-sig").splitlines()
    assert len(body) == 21 and "grade" in body[0]
    api = client.post(
        f"/api/v1/scoring/models/{version.pk}/predict-rows/",
        {"rows": [{"region": "west", "product_code": 3}]},
        content_type="application/json",
    )
    assert api.status_code == 400  # the model's other columns are missing: said, not a 500


@pytest.mark.django_db
def test_the_figure_command_compares_the_file_scorecard_with_one_hot_logistic_on_the_same_folds():
    from django.core.management import call_command

    out = io.StringIO()
    call_command("scoring_figures", "--skip-demo", "--rows", "3000", "--folds", "2", stdout=out)
    text = out.getvalue()
    assert "2-fold CV AUC (same folds)" in text and "one-hot logistic regression" in text
    version = ModelVersion.objects.get(kind=ModelKind.FILE_PD)
    assert version.status == ModelVersion.Status.READY and len(version.metrics["cv"]["baseline_aucs"]) == 2
