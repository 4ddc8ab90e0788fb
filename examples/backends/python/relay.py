"""Publish to the relay from a Python backend: standard library plus PyJWT
(Debian: apt install python3-jwt; elsewhere: pip install pyjwt).

Run: python3 relay.py (against `npm run dev`; its values are the defaults below).
Elsewhere set RELAY_URL, PUBLISH_TOKEN, SUBSCRIBE_JWT_SECRET and CHANNEL in the environment.
"""
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jwt

RELAY_URL = os.environ.get("RELAY_URL", "http://localhost:8787")
PUBLISH_TOKEN = os.environ.get("PUBLISH_TOKEN", "dev-token")
SUBSCRIBE_JWT_SECRET = os.environ.get("SUBSCRIBE_JWT_SECRET", "dev-subscribe-secret-do-not-use-in-production")
CHANNEL = os.environ.get("CHANNEL", "private-orders")


def post(path, body, headers=None):
    request = urllib.request.Request(
        RELAY_URL + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": "Bearer " + PUBLISH_TOKEN, "Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response), response.headers.get("Idempotent-Replayed") == "true"
    except urllib.error.HTTPError as error:  # the relay's errors are JSON {"error", "message"}
        raise RuntimeError(f"{path}: {error.code} {error.read().decode()}") from None


# One event. `data` may be a string or any JSON value.
one, _ = post(f"/v1/channels/{urllib.parse.quote(CHANNEL, safe='')}/events", {"event": "greeting", "data": {"from": "python"}})

# A batch with an Idempotency-Key: if the answer is lost, send the same request again
# with the same key; the relay answers the same ids and delivers the events once.
key = str(uuid.uuid4())
batch = {"events": [{"channel": CHANNEL, "data": "batch-1"}, {"channel": CHANNEL, "data": "batch-2"}]}
first, _ = post("/v1/events", batch, {"Idempotency-Key": key})
retry, replayed = post("/v1/events", batch, {"Idempotency-Key": key})


def subscriber_token(channels, ttl_seconds=3600):
    """A subscriber token (HS256 JWT) for a browser: it may read `channels` for one hour."""
    claims = {"scope": "subscribe", "channels": channels, "exp": int(time.time()) + ttl_seconds}
    return jwt.encode(claims, SUBSCRIBE_JWT_SECRET, algorithm="HS256")


print(json.dumps({"id": one["id"], "batch": first["ids"], "retry": retry["ids"], "replayed": replayed,
                  "token": subscriber_token([CHANNEL])}))
