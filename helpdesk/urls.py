from django.contrib import admin
from django.urls import path

admin.site.site_header = "Help Desk administration"
admin.site.site_title = "Help Desk"

urlpatterns = [
    path("admin/", admin.site.urls),
]
