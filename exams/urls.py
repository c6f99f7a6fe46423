from django.urls import path

from . import views

app_name = "exams"

urlpatterns = [
    path("me/applications/", views.application_list, name="application_list"),
    path("me/applications/new/", views.application_new, name="application_new"),
    path("me/applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("me/applications/<int:pk>/ticket.pdf", views.ticket_pdf, name="ticket_pdf"),
    path(
        "staff/applications/<int:pk>/materials/<slug:kind>/<str:variant>/",
        views.staff_submitted_material,
        name="staff_submitted_material",
    ),
]
