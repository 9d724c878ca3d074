"""What the HQ and device API modules share: JSON bodies, the parts they use, their errors.

Domain errors (``zhenma.errors``, ``distribution.goods.Refused``) become the one
JSON error shape here, per blueprint, so the consumer-facing modules stay as they are.
"""

from flask import Blueprint, request

from distribution.goods import Refused
from keys import KeyringError
from zhenma.errors import Conflict, Invalid, NotFound, ZhenmaError

from .errors import ApiError, error_response
from .extension import verify_service

_STATUS = {NotFound: 404, Conflict: 409, Invalid: 400}


def parts():
    return verify_service.parts


def secrets(batch):
    """A batch's keys, from the service's keyring cache (``catalog.secrets``)."""
    return verify_service.parts.catalog.secrets(batch)


def json_body(kinds=(dict,)):
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the request as application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, kinds):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    return body


def install(bp: Blueprint) -> None:
    """Larger bodies than the consumer API allows, and domain errors as JSON."""

    @bp.before_request
    def _limit():
        request.max_content_length = verify_service.parts.settings.dispatch_max_body

    @bp.errorhandler(ZhenmaError)
    def _domain(exc: ZhenmaError):
        if isinstance(exc, Refused):
            return error_response(exc.status, exc.code, exc.message)
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
        return error_response(status, exc.code, str(exc))

    @bp.errorhandler(KeyringError)
    def _keys(exc: KeyringError):
        # Fail closed: without the batch keys no code can be checked, so none is accepted.
        return error_response(
            503, "unavailable", f"the batch keys cannot be opened: {exc}", {"Retry-After": "30"}
        )
