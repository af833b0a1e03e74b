from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.dashboard_list, name="list"),
    path("<uuid:pk>/", views.dashboard_detail, name="detail"),
    path("<uuid:pk>/favorite/", views.toggle_favorite, name="favorite"),
    path("<uuid:pk>/refresh/", views.refresh, name="refresh"),
    path("<uuid:pk>/export/", views.export, name="export"),
    path("exports/<uuid:export_pk>/", views.export_status, name="export-status"),
]
