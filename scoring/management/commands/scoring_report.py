"""``manage.py scoring_report [--train]``: each model against the random-forest baseline on
the same hold-out split (AUC / KS; MAE / R² for the limit estimator), as a Markdown table."""

from django.core.management.base import BaseCommand

from scoring.models import ModelKind, ModelVersion
from scoring.selectors import active_versions
from scoring.services import model_train


class Command(BaseCommand):
    help = "Compare each model with the six-feature random-forest baseline on the same split."

    def add_arguments(self, parser):
        parser.add_argument("--train", action="store_true", help="Train new versions first (not activated).")

    def handle(self, *args, train=False, **options):
        versions: dict[str, ModelVersion] = {}
        if train:
            for kind in ModelKind.values:
                versions[kind] = model_train(kind=kind)
        else:
            versions = active_versions()
            for kind in ModelKind.values:
                if kind not in versions:
                    latest = ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.READY).first()
                    if latest:
                        versions[kind] = latest
        if not versions:
            self.stderr.write("No trained model: run seed_demo or scoring_report --train.")
            return
        out = ["| model | version | algorithm | rows (train/test) | AUC | KS | baseline AUC | baseline KS |",
               "|---|---|---|---|---:|---:|---:|---:|"]  # fmt: skip
        reg = ["| model | version | algorithm | rows (train/test) | MAE | R² | baseline MAE | baseline R² |",
               "|---|---|---|---|---:|---:|---:|---:|"]  # fmt: skip
        for kind in ModelKind.values:
            mv = versions.get(kind)
            if mv is None:
                continue
            m, b = mv.metrics.get("holdout", {}), mv.metrics.get("baseline", {})
            rows = f"{mv.metrics.get('train_rows')}/{mv.metrics.get('test_rows')}"
            if "auc" in m:
                out.append(
                    f"| {mv.get_kind_display()} | {mv.label} | {mv.algorithm} | {rows} | {m['auc']} | {m['ks']} |"
                    f" {b.get('auc')} | {b.get('ks')} |"
                )
            else:
                reg.append(
                    f"| {mv.get_kind_display()} | {mv.label} | {mv.algorithm} | {rows} | {m.get('mae')} |"
                    f" {m.get('r2')} | {b.get('mae')} | {b.get('r2')} |"
                )
        self.stdout.write("\n".join(out) + "\n")
        if len(reg) > 2:
            self.stdout.write("\n" + "\n".join(reg) + "\n")
