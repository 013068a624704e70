"""The workbench's one error type: a refusal a person can read, translated where it is raised."""


class WorkbenchError(Exception):
    """A business rule refused the operation; ``str(error)`` is the reason, in the active language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


class ConductRefused(WorkbenchError):
    """A contact the lender's conduct rules do not allow (outside the window, over the daily cap)."""
