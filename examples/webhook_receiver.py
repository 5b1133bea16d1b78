"""A minimal receiver of the gateway's webhooks (Standard Webhooks), standard library only.

    python examples/webhook_receiver.py --secret whsec_... [--port 8088] [--log events.jsonl]

It checks each request's signature and timestamp, ignores a webhook-id it has seen (the
gateway delivers at least once), answers 2xx quickly, and appends each new event to
``--log`` (one JSON object a line). Put your own handling where it says so.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 5 * 60


def verified(secret: str, headers: Any, body: bytes) -> bool:
    """The Standard Webhooks check: HMAC-SHA256 of ``id.timestamp.body`` with the base64
    key after ``whsec_``; any ``v1,`` entry of the header may match (secret rotation)."""
    message_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (message_id and timestamp and signatures and timestamp.isdigit()):
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False  # too old or from the future: a replay
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(signature, expected)
        for version, _, signature in (entry.partition(",") for entry in signatures.split(" "))
    )


def serve(secret: str, port: int, log_path: str | None) -> None:
    seen: set[str] = set()  # keep this in your database in production

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if not verified(secret, self.headers, body):
                self._answer(401)
                return
            message_id = self.headers["webhook-id"]
            if message_id not in seen:
                seen.add(message_id)
                event = json.loads(body)
                # Your handling goes here (quickly; queue slow work).
                if log_path:
                    with open(log_path, "a") as log:
                        log.write(json.dumps(event) + "\n")
            self._answer(204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", required=True, help="the endpoint's whsec_... secret")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--log", help="append each new event to this file (JSON lines)")
    arguments = parser.parse_args()
    serve(arguments.secret, arguments.port, arguments.log)


if __name__ == "__main__":
    main()
