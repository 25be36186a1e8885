"""Confirmation pages of admin batch actions, within ``DATA_UPLOAD_MAX_NUMBER_FIELDS``.

A selection made on one changelist page posts its ids (at most a page). "Select all N"
(select across) re-posts ``select_across`` with the changelist's filters in the URL instead
of N ids, plus a digest of the ids shown for confirmation: if the filtered set changed in
between, the confirmation page comes back instead of acting on a set nobody confirmed.
"""

import hashlib
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.admin import helpers
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Selection:
    across: bool
    ids: list
    digest: str
    field_name: str = helpers.ACTION_CHECKBOX_NAME

    @property
    def anchor(self):
        """One id to post along with ``select_across`` (the changelist wants one)."""
        return self.ids[0] if self.ids else ""


def selection_of(request, ids) -> Selection:
    ids = list(ids)
    digest = hashlib.sha256(",".join(str(pk) for pk in sorted(ids)).encode()).hexdigest()
    return Selection(across=request.POST.get("select_across") == "1", ids=ids, digest=digest)


def selection_confirmed(model_admin, request, selection: Selection) -> bool:
    """Whether the confirmed POST acts on the selection that was shown; says so when not."""
    if not selection.across or request.POST.get("selection_digest") == selection.digest:
        return True
    model_admin.message_user(
        request, _("The selection changed after it was shown; check it and confirm again."), messages.WARNING
    )
    return False
