"""The workbench's refusals: the project's one error type (``portal.errors.RuleError``), translated where raised."""

from portal.errors import RuleError


class WorkbenchError(RuleError):
    """A business rule refused the operation; ``message`` is the reason, in the active language, ``code`` names the rule."""

    default_code = "workbench_refused"

    def __init__(self, message, *, code=None):
        super().__init__(str(message), code=code or self.default_code)


class ConductRefused(WorkbenchError):
    """A contact the lender's conduct rules do not allow (outside the window, over the daily cap)."""

    default_code = "conduct_refused"
