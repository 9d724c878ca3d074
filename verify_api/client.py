"""What is kept about the client of a scan: never the raw IP address.

The address is stored truncated (IPv4 to its /24, IPv6 to its /48: still enough
to place a scan in a city later) and as a salted hash (to count distinct clients
without being able to name them). The salt is ``ZHENMA_IP_SALT`` or, when unset,
a random one made once and kept in the instance folder.
"""

import hashlib
import hmac
import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path

from zhenma.config import Settings


def ip_prefix(address: str | None) -> str | None:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return None
    bits = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def ip_hash(address: str | None, salt: bytes) -> str | None:
    if not address:
        return None
    return hmac.new(salt, address.encode(), hashlib.sha256).hexdigest()[:32]


def load_salt(settings: Settings) -> bytes:
    if settings.ip_salt:
        return settings.ip_salt.encode()
    path = Path(settings.instance_path) / "ip-salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".ip-salt.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # complete or absent, never half written; the first one wins
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip().encode()


@lru_cache(maxsize=8192)  # busy clients (a shop's Wi-Fi, a carrier's NAT) come back often
def _address(remote_addr: str | None, salt: bytes) -> tuple[str | None, str | None]:
    return ip_prefix(remote_addr), ip_hash(remote_addr, salt)


def describe(remote_addr: str | None, user_agent: str | None, salt: bytes) -> dict:
    """The ``Query`` fields that describe the client of a request."""
    prefix, hashed = _address(remote_addr, salt)
    return {
        "client": hashed or "unknown",
        "ip_prefix": prefix,
        "ip_hash": hashed,
        "user_agent": user_agent or None,
    }
