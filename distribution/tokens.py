"""Bearer tokens of scanning devices and HQ API clients: random, shown once, stored hashed.

A token is a kind prefix (``zmd_`` device, ``zmh_`` HQ) and 256 random bits in
base64url. Only its SHA-256 is stored, and looked up by equality on a unique
index. A slow password hash (scrypt, argon2) buys nothing here: it makes guessing
a *low-entropy* secret expensive, while guessing 256 random bits is hopeless at
any hash speed, and the hash of a leaked table cannot be inverted either. A fast
hash also lets a request find its token by index in one query, where a salted
slow hash would need the row first and cost tens of milliseconds per request.
"""

import hashlib
import secrets

PREFIX = {"device": "zmd_", "hq": "zmh_"}
SHOWN = 10  # characters kept in clear, so people can tell their tokens apart


def new(kind: str) -> str:
    return PREFIX[kind] + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def shown(token: str) -> str:
    return token[:SHOWN]
