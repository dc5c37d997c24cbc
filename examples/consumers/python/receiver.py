"""Receives supahook's lifecycle events over HTTP: verifies each request's Standard
Webhooks signature on the exact bytes received, then handles each event once.

WEBHOOK_SECRET  the endpoint's secret, whsec_... (required)
PORT            where to listen (3000)
PROCESSED_LOG   a file that gets one line per event handled (optional)
DATABASE        the SQLite file that remembers handled ids (handled.sqlite3)

Deliveries are at least once: a retry carries the same webhook-id (the event id), so
an id already handled is acknowledged and not handled again. The id is recorded in
the same transaction as the work it causes, so a crash never leaves one without the
other.
"""

import json
import os
import sqlite3
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Lock

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = os.environ.get("WEBHOOK_SECRET")
if not SECRET:
    sys.exit("set WEBHOOK_SECRET to the endpoint's secret (whsec_...)")
WEBHOOK = Webhook(SECRET)
DB = sqlite3.connect(os.environ.get("DATABASE", "handled.sqlite3"), check_same_thread=False)
DB.execute("CREATE TABLE IF NOT EXISTS handled (id TEXT PRIMARY KEY, type TEXT NOT NULL)")
DB_LOCK = Lock()


def handle(event):
    """The work an event causes: here, a line in PROCESSED_LOG."""
    print(f"{event['type']} user={event['user_id']} sequence={event['sequence']}", flush=True)
    log = os.environ.get("PROCESSED_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{event['id']} {event['type']}\n")


class Receiver(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            event = WEBHOOK.verify(body, headers)
        except WebhookVerificationError:
            return self.answer(401, {"error": "bad signature"})
        event_id = headers["webhook-id"]
        with DB_LOCK, DB:
            inserted = DB.execute(
                "INSERT INTO handled (id, type) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                (event_id, event["type"]),
            ).rowcount
            if inserted:
                handle(event)
        self.answer(200, {"id": event_id, "duplicate": not inserted})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "3000"))), Receiver)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
