// Receives supahook's lifecycle events over HTTP: verifies each request's Standard
// Webhooks signature on the exact bytes received, then handles each event once.
//
// WEBHOOK_SECRET  the endpoint's secret, whsec_... (required)
// PORT            where to listen (3000)
// PROCESSED_LOG   a file that gets one line per event handled (optional)
//
// Deliveries are at least once: a retry carries the same webhook-id (the event id),
// so an id already handled is acknowledged and not handled again. This example keeps
// the handled ids in memory; a real consumer records them with the work they caused,
// in the same database transaction (a table with the id as its primary key).
import { createServer } from "node:http";
import { appendFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error("set WEBHOOK_SECRET to the endpoint's secret (whsec_...)");
  process.exit(2);
}
const webhook = new Webhook(secret);
const handled = new Set();

function answer(response, status, body) {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

// The work an event causes: here, a line in PROCESSED_LOG.
function handle(event) {
  console.log(`${event.type} user=${event.user_id} sequence=${event.sequence}`);
  if (process.env.PROCESSED_LOG) {
    appendFileSync(process.env.PROCESSED_LOG, `${event.id} ${event.type}\n`);
  }
}

const server = createServer((request, response) => {
  if (request.method !== "POST") return answer(response, 405, { error: "POST only" });
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    let event;
    try {
      event = webhook.verify(body, request.headers);
    } catch {
      return answer(response, 401, { error: "bad signature" });
    }
    const id = request.headers["webhook-id"];
    if (handled.has(id)) return answer(response, 200, { id, duplicate: true });
    handle(event);
    handled.add(id);
    answer(response, 200, { id, duplicate: false });
  });
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
