"""``manage.py scoring_figures [--rows N] [--train]``: the figures of the README's credit
scoring section: each credit model against the random-forest baseline on the same split
(``scoring_report``), then a scorecard trained through "train from a file" on the generated
mixed data set, its cross-validated AUC next to a one-hot logistic regression on the same
folds. New versions are left ready, never activated."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from scoring.figures import file_scorecard_figure, file_scorecard_markdown


class Command(BaseCommand):
    help = "Print the scoring figures (models vs baselines; train-from-a-file scorecard vs one-hot logistic)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=20000, help="Rows of the generated data set.")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--train", action="store_true", help="Train new versions of the application models first.")
        parser.add_argument("--skip-demo", action="store_true", help="Only the train-from-a-file figure.")

    def handle(self, *args, rows=20000, folds=5, train=False, skip_demo=False, **options):
        if not skip_demo:
            call_command("scoring_report", train=train, stdout=self.stdout, stderr=self.stderr)
            self.stdout.write("")
        fig = file_scorecard_figure(rows=rows, folds=folds)
        self.stdout.write(file_scorecard_markdown(fig) + "\n")
