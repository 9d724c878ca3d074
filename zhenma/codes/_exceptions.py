"""Errors of the code format, from the least to the most serious finding.

Each error's message is fixed text meant for a person; callers (the CLI, the
verification API) map the class to their own verdicts and status codes.
"""


class CodeError(ValueError):
    """Base class: the text given is not a genuine, well-formed Zhenma code."""

    kind = "invalid"


class MalformedCode(CodeError):
    """The text is not shaped like a code at all (length, characters, layout)."""

    kind = "malformed"


class TypoCode(MalformedCode):
    """Shaped like a code, but its check character fails: most likely a typo."""

    kind = "typo"


class BadSignature(CodeError):
    """Well-formed, but its tag was not made with the batch's key: a forgery."""

    kind = "bad_signature"


class UnknownBatch(CodeError):
    """Well-formed and correctly checked, but no batch with that number exists."""

    kind = "unknown_batch"
