"""Batch generation of filing packets (litigation.batch_urls) in the isolation matrix.

The one page takes no path argument: what it lists is decided by litigation.access.visible_matters (an outsider's
own schema, or nothing), and what it starts by the same filter. No extra objects are needed.
"""

# The action guarding each URL (see URL_ACTIONS in tests/test_isolation_matrix.py); names without the namespace.
URL_ACTIONS = {
    "packet-batch-new": "packet.build",
}


def owner_kwargs(world):
    return {}
