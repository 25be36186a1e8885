"""The portal pages' routes (included by ``customers/portal/urls.py`` in the "portal" namespace)."""

from django.urls import path

from customers.portal import views_pages as views

urlpatterns = [
    path("manager/", views.manager, name="manager"),
    path("applications/", views.applications, name="applications"),
    path("applications/new/", views.apply, name="apply"),
    path("applications/<int:pk>/", views.application, name="application"),
    path("applications/<int:pk>/documents/", views.application_upload, name="application-upload"),
    path("applications/<int:pk>/answer/", views.application_answer, name="application-answer"),
    path("applications/<int:pk>/offer/", views.application_offer, name="application-offer"),
    path("documents/<int:pk>/", views.document_download, name="document"),
    path("loans/", views.loans, name="loans"),
    path("loans/<int:pk>/", views.loan, name="loan"),
    path("loans/<int:pk>/repayment-plan.xlsx", views.loan_plan, name="loan-plan"),
    path("loans/<int:pk>/statement.xlsx", views.loan_statement, name="loan-statement"),
    path("loans/<int:pk>/statement.pdf", views.loan_statement, {"fmt": "pdf"}, name="loan-statement-pdf"),
]
