"""Customer book admin: thin screens over the services (create/update, import, reassign, matching)."""

from customers.admin import book, credit, labels, managers, portal, ratings, reference  # noqa: F401
