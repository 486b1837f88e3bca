from django.urls import path

from accounts.api.views import LoginApi, LogoutApi, RefreshApi

urlpatterns = [
    path("login/", LoginApi.as_view(), name="login"),
    path("refresh/", RefreshApi.as_view(), name="refresh"),
    path("logout/", LogoutApi.as_view(), name="logout"),
]
