// The console in a real browser: Debian's chromium driven by playwright-core, against
// the real supahook binary on a real PostgreSQL database made for this run. Saves a
// screenshot of each page into docs/screenshots/. Run by scripts/browser-test.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import { chromium } from "playwright-core";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = process.env.SUPAHOOK_BIN ?? join(ROOT, "target/debug/supahook");
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const BROWSER = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(ROOT, "docs/screenshots");
const TOKEN = "browser-test-admin-token-0123456789";
const SECRET = "v1,whsec_x9S5JSS6PUCY0gi6J50BVjy1NvcPFWP37CWT4yCpy98=";
const REFUSED = "grace.refused@example.com";

const dir = mkdtempSync(join(tmpdir(), "supahook-browser-"));
const database = `supahook_browser_${process.pid}_${Date.now()}`;
const databaseUrl = ADMIN_URL.replace(/\/[^/?]*(\?|$)/, `/${database}$1`);
let server;
let browser;
let publicUrl;
let consoleUrl;

function psql(url, sql) {
  const run = spawnSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-qAtX", "-c", sql], { encoding: "utf8" });
  assert.equal(run.status, 0, `psql: ${sql}\n${run.stderr}`);
  return run.stdout.trim();
}

function freePort() {
  return new Promise((done) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

/** Signs and sends one sign-up, as Supabase Auth would, through `supahook replay`. */
function signUp(email, uuid) {
  const id = crypto.randomUUID();
  const body = {
    metadata: { uuid, time: new Date().toISOString(), name: "before-user-created", ip_address: "203.0.113.42" },
    user: {
      id, aud: "authenticated", role: "", email, phone: "",
      app_metadata: { provider: "email", providers: ["email"] },
      user_metadata: { full_name: email.split("@")[0].replace(".", " ") },
      identities: [], created_at: "0001-01-01T00:00:00Z", updated_at: "0001-01-01T00:00:00Z", is_anonymous: false,
    },
  };
  const file = join(dir, `${uuid}.jsonl`);
  writeFileSync(file, JSON.stringify(body) + "\n");
  // Exits non-zero when the delivery waits in the spool; the test checks what it needs.
  spawnSync(BIN, ["replay", "--url", publicUrl, "--secret", SECRET, file], { encoding: "utf8", env: { PATH: process.env.PATH } });
  return id;
}

async function until(check, what, seconds = 15) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await check()) return;
    assert.ok(Date.now() < deadline, `${what}: not after ${seconds} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  psql(ADMIN_URL, `CREATE DATABASE "${database}"`);
  const [publicPort, adminPort] = [await freePort(), await freePort()];
  publicUrl = `http://127.0.0.1:${publicPort}`;
  consoleUrl = `http://127.0.0.1:${adminPort}/console`;
  server = spawn(BIN, ["serve"], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      SUPAHOOK_DATA_DIR: join(dir, "data"),
      SUPAHOOK_LISTEN_ADDR: `127.0.0.1:${publicPort}`,
      SUPAHOOK_ADMIN_LISTEN_ADDR: `127.0.0.1:${adminPort}`,
      SUPAHOOK_ADMIN_TOKEN: TOKEN,
      SUPAHOOK_HOOK_SECRETS: SECRET,
      SUPAHOOK_ON_STORE_FAILURE: "open",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  await until(async () => (await fetch(`${publicUrl}/health/ready`).catch(() => null))?.ok, "supahook ready");
  browser = await chromium.launch({ executablePath: BROWSER, args: ["--no-sandbox"] });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  if (server) {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
  }
  psql(ADMIN_URL, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  rmSync(dir, { recursive: true, force: true });
});

async function signedInPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  await page.goto(`${consoleUrl}/deliveries`);
  await page.fill("#token", TOKEN);
  await page.click("button[type=submit]");
  await page.waitForURL(`${consoleUrl}/deliveries`);
  return page;
}

test("no page works without the admin token", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  for (const path of ["/deliveries", "/users?q=ada@example.com", "/health", "/delivery?key=x"]) {
    await page.goto(consoleUrl + path);
    assert.equal(new URL(page.url()).pathname, "/console/sign-in", path);
  }
  const rows = await page.evaluate(async (url) => (await fetch(url)).status, `${consoleUrl}/deliveries/rows`);
  assert.equal(rows, 401);
  await page.fill("#token", "not-the-admin-token");
  await page.click("button[type=submit]");
  assert.match(await page.textContent("[role=alert]"), /not the admin token/);
  assert.equal(new URL(page.url()).pathname, "/console/sign-in");
  assert.equal((await context.cookies()).length, 0);
  await context.close();
});

test("a replayed delivery appears without a reload, opens, and leads to its user", async () => {
  const page = await signedInPage();
  const cookies = await page.context().cookies();
  assert.equal(cookies.length, 1);
  assert.ok(cookies[0].httpOnly && cookies[0].sameSite === "Strict", JSON.stringify(cookies[0]));
  assert.ok(!cookies[0].value.includes(TOKEN));
  await page.evaluate(() => { window.notReloaded = true; });

  const uuid = crypto.randomUUID();
  const userId = signUp("ada.browser@example.com", uuid);
  const row = page.locator(`tr[data-key="${uuid}"]`);
  await row.waitFor({ timeout: 10000 });
  assert.equal(await page.evaluate(() => window.notReloaded), true, "the page was reloaded");
  assert.match(await row.textContent(), /created/);
  for (let i = 0; i < 4; i++) signUp(`user${i}.browser@example.com`, crypto.randomUUID());
  await page.locator("tr[data-key]").nth(4).waitFor();
  await page.screenshot({ path: join(SHOTS, "console-deliveries.png") });

  await row.getByRole("link", { name: /Open delivery/ }).click();
  await page.waitForURL(/\/console\/delivery\?key=/);
  const detail = await page.textContent("main");
  assert.match(detail, /webhook-id/);
  assert.match(detail, /ada\.browser@example\.com/);
  assert.doesNotMatch(detail, /webhook-signature/);
  assert.doesNotMatch(detail, /v1,[A-Za-z0-9+/=]{40}/);

  await page.click("nav >> text=Users");
  await page.fill("#q", "ada.browser@example.com");
  await page.click("form[role=search] button");
  await page.click(`a[href="/console/users/${userId}"]`);
  await page.waitForURL(`${consoleUrl}/users/${userId}`);
  assert.match(await page.textContent("main"), /ada\.browser@example\.com/);
  assert.equal(await page.locator("#timeline ~ table tr[data-key]").count(), 1);
  await page.screenshot({ path: join(SHOTS, "console-users.png"), fullPage: true });
  await page.context().close();
});

test("a set-aside delivery is retried, and an action from another origin is refused", async () => {
  psql(databaseUrl, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.email = '${REFUSED}' THEN RAISE EXCEPTION 'sign-ups from this address are refused by a trigger'; END IF;
    RETURN NEW; END $$`);
  psql(databaseUrl, "CREATE TRIGGER refuse BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse()");
  const key = crypto.randomUUID();
  const userId = signUp(REFUSED, key);
  const page = await signedInPage();
  await until(async () => {
    await page.goto(`${consoleUrl}/health`);
    return (await page.locator("#set-aside-list td", { hasText: key }).count()) === 1;
  }, "the refused delivery set aside");
  await page.screenshot({ path: join(SHOTS, "console-health.png"), fullPage: true });
  const entry = page.locator("#set-aside-list tr", { hasText: key });
  const retryPath = await entry.locator("form").first().getAttribute("action");
  const formToken = await entry.locator("input[name=form_token]").first().inputValue();

  // The same browser, signed in, on another origin (the public listener's port) posts
  // the console's own form with the right form token: refused.
  const other = await page.context().newPage();
  await other.goto(`${publicUrl}/health/live`);
  const [answer] = await Promise.all([
    other.waitForResponse((r) => r.url().endsWith(retryPath)),
    other.evaluate(({ action, token }) => {
      const form = document.createElement("form");
      form.method = "post";
      form.action = action;
      const input = document.createElement("input");
      input.name = "form_token";
      input.value = token;
      form.append(input);
      document.body.append(form);
      form.submit();
    }, { action: new URL(retryPath, consoleUrl).href, token: formToken }),
  ]);
  assert.equal(answer.status(), 403);
  await page.reload();
  assert.equal(await page.locator("#set-aside-list td", { hasText: key }).count(), 1, "refused, yet changed");

  psql(databaseUrl, "DROP TRIGGER refuse ON users");
  await entry.getByRole("button", { name: /Retry/ }).click();
  await page.waitForURL(`${consoleUrl}/health`);
  assert.equal(await page.locator("#set-aside-list td", { hasText: key }).count(), 0);
  await until(() => psql(databaseUrl, `SELECT count(*) FROM users WHERE id = '${userId}'`) === "1", "the retried delivery applied");
  assert.equal(psql(databaseUrl, `SELECT outcome FROM webhook_events WHERE idempotency_key = '${key}'`), "created");
  await page.context().close();
});
