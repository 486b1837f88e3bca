from django.urls import path

from sandbox import views as sandbox

app_name = "sandbox"

urlpatterns = [
    path("", sandbox.sandbox_page, name="page"),
    path("api/clients/", sandbox.sandbox_clients, name="clients"),
    path("api/clients/<int:user_id>/messages/", sandbox.sandbox_messages, name="messages"),
    path("api/clients/<int:user_id>/presses/", sandbox.sandbox_presses, name="presses"),
]
