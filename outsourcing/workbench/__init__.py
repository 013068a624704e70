"""The agency workbench: assignment to collectors, the queue, contact attempts, promises to pay, field visits."""
