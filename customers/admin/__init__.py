"""Customer book admin: thin screens over the services (create/update, import, reassign, matching)."""

from customers.admin import book, credit, grants, labels, managers, my_book, portal, ratings, reference  # noqa: F401
