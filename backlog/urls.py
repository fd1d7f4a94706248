app_name = "backlog"

urlpatterns: list = []
