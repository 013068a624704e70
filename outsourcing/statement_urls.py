"""Statements under /outsourcing/ (names in the outsourcing namespace)."""
urlpatterns = []
