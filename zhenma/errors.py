"""Domain errors shared by the CLI and the web API; each boundary maps them once.

The message is for a person and never holds secrets. The CLI turns them into an
exit code (``zhenma.cli.Exit``); the API into ``{"error": {"code", "message"}}``.
"""


class ZhenmaError(Exception):
    code = "error"


class NotFound(ZhenmaError):
    code = "not_found"


class Conflict(ZhenmaError):
    code = "conflict"


class Invalid(ZhenmaError):
    code = "invalid"
