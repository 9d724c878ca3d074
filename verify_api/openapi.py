"""The OpenAPI 3.1 description of ``/api/v1`` (served at ``/api/v1/openapi.json``)."""

from functools import cache

VERDICTS = [
    "genuine_first_check",
    "genuine_checked_before",
    "suspect",
    "counterfeit",
    "unknown_batch",
    "revoked",
    "not_activated",
]


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


@cache
def document() -> dict:
    nullable_str = {"type": ["string", "null"]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Zhenma verification API",
            "version": "1.0.0",
            "description": "Check a Zhenma code (serial or GS1 Digital Link) and its hidden code.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": {
            "/api/v1/verify": {
                "post": {
                    "operationId": "verify",
                    "summary": "Check a code; the check is recorded as a scan.",
                    "parameters": [
                        {
                            "name": "Accept-Language",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": "zh (default) or en, for `message`.",
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/VerifyRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The verdict on a well-formed code.",
                            "headers": {
                                "X-Zhenma-Degraded": {
                                    "description": "Present when answered without Redis, "
                                    "from the database and the signature.",
                                    "schema": {"type": "string"},
                                }
                            },
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/VerifyResponse"}
                                }
                            },
                        },
                        "400": _error(
                            "Malformed code (codes malformed, typo, "
                            "hidden_code_malformed) or a bad request body."
                        ),
                        "413": _error("Body too large."),
                        "415": _error("Body is not application/json."),
                        "429": _error("Too many wrong hidden codes; see Retry-After."),
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1 document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "VerifyRequest": {
                    "type": "object",
                    "required": ["code"],
                    "properties": {
                        "code": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 200,
                            "description": "A serial or the Digital Link URL from the QR.",
                        },
                        "hidden_code": {
                            "type": "string",
                            "description": "The 12 digits under the scratch-off panel.",
                        },
                        "lat": {"type": "number", "minimum": -90, "maximum": 90},
                        "lng": {"type": "number", "minimum": -180, "maximum": 180},
                    },
                },
                "VerifyResponse": {
                    "type": "object",
                    "required": ["verdict", "message", "scan_count", "first_scan"],
                    "properties": {
                        "verdict": {"type": "string", "enum": VERDICTS},
                        "message": {"type": "string"},
                        "reason": {
                            **nullable_str,
                            "description": "bad_signature, hidden_code_wrong, too_often, "
                            "far_apart, or null.",
                        },
                        "detail": {**nullable_str, "description": "E.g. why HQ revoked it."},
                        "serial": nullable_str,
                        "gtin": nullable_str,
                        "product": {
                            "oneOf": [
                                {"type": "null"},
                                {
                                    "type": "object",
                                    "properties": {
                                        "name": {"type": "string"},
                                        "image_url": nullable_str,
                                    },
                                },
                            ]
                        },
                        "scan_count": {"type": ["integer", "null"]},
                        "first_scan": {
                            "oneOf": [
                                {"type": "null"},
                                {
                                    "type": "object",
                                    "properties": {
                                        "at": {"type": "string", "format": "date-time"},
                                        "place": nullable_str,
                                    },
                                },
                            ]
                        },
                        "hidden_code_checked": {"type": "boolean"},
                        "degraded": nullable_str,
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
            }
        },
    }
