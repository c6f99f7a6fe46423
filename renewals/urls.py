from django.urls import path

from . import views

app_name = "renewals"

urlpatterns = [
    path("me/certificates/<int:pk>/renewal/", views.renewal_fill, name="fill"),
    path("me/certificates/<int:pk>/renewal/delivery/", views.renewal_delivery, name="delivery"),
    path("me/certificates/<int:pk>/renewal/confirm/", views.renewal_confirm, name="confirm"),
    path("me/certificates/<int:pk>/renewal/withdraw/", views.renewal_withdraw, name="withdraw"),
]
