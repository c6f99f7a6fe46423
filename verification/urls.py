from django.urls import path

from . import views

app_name = "verification"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("verify/upload/", views.verify_upload, name="upload"),
    path("v/<str:token>/", views.qr, name="qr"),
    path("v/<str:token>/preview.png", views.qr_preview, name="qr_preview"),
    path(
        "v/<str:token>/preview.webp",
        views.qr_preview,
        {"fmt": "webp"},
        name="qr_preview_webp",
    ),
    path("api/v1/verify", views.api_verify, name="api"),
]
