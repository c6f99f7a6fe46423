from django.urls import path

from . import views

app_name = "certificates"

urlpatterns = [
    path("me/certificates/", views.certificate_list, name="list"),
    path("me/certificates/<int:pk>/certificate.pdf", views.certificate_pdf, name="pdf"),
    path("me/certificates/<int:pk>/generate/", views.certificate_generate, name="generate"),
    path(
        "me/certificates/request/<int:application_pk>/", views.certificate_request, name="request"
    ),
    path(
        "staff/certificates/<int:pk>/certificate.pdf", views.staff_certificate_pdf, name="staff_pdf"
    ),
]
