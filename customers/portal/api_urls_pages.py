"""The portal pages' API routes (included by ``customers/portal/api_urls.py``, namespace "portal-api")."""

from django.urls import path

from customers.portal import api_pages as views

urlpatterns = [
    path("home/", views.HomeView.as_view(), name="home"),
    path("manager/", views.ManagerView.as_view(), name="manager"),
    path("applications/", views.ApplicationListView.as_view(), name="applications"),
    path("applications/<int:pk>/", views.ApplicationDetailView.as_view(), name="application"),
    path("applications/<int:pk>/documents/", views.ApplicationDocumentView.as_view(), name="application-documents"),
    path("applications/<int:pk>/answer/", views.ApplicationAnswerView.as_view(), name="application-answer"),
    path("applications/<int:pk>/offer/", views.ApplicationOfferView.as_view(), name="application-offer"),
    path("documents/<int:pk>/", views.DocumentDownloadView.as_view(), name="document"),
    path("loans/", views.LoanListView.as_view(), name="loans"),
    path("loans/<int:pk>/", views.LoanDetailView.as_view(), name="loan"),
    path("loans/<int:pk>/payoff/", views.LoanPayoffView.as_view(), name="loan-payoff"),
    path("loans/<int:pk>/repayment-plan/", views.LoanPlanView.as_view(), name="loan-plan"),
    path("loans/<int:pk>/statement/", views.LoanStatementView.as_view(), name="loan-statement"),
    path("loans/<int:pk>/statement/pdf/", views.LoanStatementPdfView.as_view(), name="loan-statement-pdf"),
]
