from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .forms import LoginForm

app_name = "applicants"

account_patterns = [
    path("register/", views.register, name="register"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", views.PortalLogoutView.as_view(), name="logout"),
    path("", include("django.contrib.auth.urls")),
]

urlpatterns = [
    path("me/", views.dashboard, name="dashboard"),
    path("me/profile/", views.profile, name="profile"),
    path("me/materials/", views.materials, name="materials"),
    path(
        "me/materials/<slug:kind>/<str:variant>/",
        views.own_material_file,
        name="own_material_file",
    ),
    path(
        "staff/materials/<int:pk>/<str:variant>/",
        views.staff_material_file,
        name="staff_material_file",
    ),
]
