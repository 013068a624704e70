"""Batch generation of filing packets (批量立案), under /litigation/batches/ (namespace litigation-batch).

The URL names carry the area ("packet-batch-…"): the isolation matrix (tests/matrix_litigation_batch.py) keys
URLs by name without the namespace, so a bare "new" would clash with other areas' pages.
"""

from django.urls import path

from . import batch_views

app_name = "litigation-batch"
urlpatterns = [
    path("new/", batch_views.batch_new, name="packet-batch-new"),
]
