"""Helpers of the alert tests: a consumer's scan from a real place, and the worker's turn."""

from tests.verify_api.support import drain

# Where consumers stand: (lat, lng) of real city centres.
GUANGZHOU = (23.1291, 113.2644)
SHENZHEN = (22.5431, 114.0579)
CHENGDU = (30.6570, 104.0660)
BEIJING = (39.9087, 116.3975)
URUMQI = (43.8256, 87.6168)


def scan(client, serial: str, at: tuple | None = None, ip: str = "127.0.0.1"):
    """A consumer's check through the JSON API, from coordinates and/or an IP address."""
    body = {"code": serial, **({"lat": at[0], "lng": at[1]} if at else {})}
    response = client.post("/api/v1/verify", json=body, environ_base={"REMOTE_ADDR": ip})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def judge(settings, db, analyst, mode) -> int:
    """What the worker does after scans arrive: store them (Redis mode), then judge them."""
    if mode == "redis":
        drain(settings, db)
    done = 0
    while n := analyst.step():
        done += n
    return done
