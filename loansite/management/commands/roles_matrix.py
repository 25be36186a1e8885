from django.core.management.base import BaseCommand

from loansite.roles_matrix import matrix_markdown


class Command(BaseCommand):
    help = (
        "Print the README's 'Permission matrix' section (Markdown): what each role may do in the "
        "admin and the API, from the role definitions in loansite/roles.py."
    )

    def handle(self, *args, **options):
        self.stdout.write(matrix_markdown(), ending="")
