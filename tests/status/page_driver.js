// Drives herdnode's status page in headless Chromium for
// tests/integration/test_status_page.py, which does all the checking.
//
// Usage: node page_driver.js URL
// Environment: HERD_PLAYWRIGHT_MODULES (the node_modules the build installed
// playwright-core into), HERD_CHROMIUM (the browser, default
// /usr/bin/chromium).
//
// Reads one JSON command per line on stdin and answers each with one JSON
// line on stdout ({"ok": true, ...} or {"ok": false, "error": "..."}):
//   {"cmd": "read", "after": N, "timeout_ms": T}
//       waits until the page has refreshed itself more than N times, then
//       answers with what it shows (see readPage)
//   {"cmd": "screenshot", "path": P}    the whole page as a PNG
//   {"cmd": "close"}
// The page is loaded once: every later read sees it refresh by itself.
"use strict";

const path = require("path");
const readline = require("readline");

const modules = process.env.HERD_PLAYWRIGHT_MODULES;
if (!modules) {
  console.error("page_driver.js: HERD_PLAYWRIGHT_MODULES is not set");
  process.exit(2);
}
const { chromium } = require(path.join(modules, "playwright-core"));

// What the page shows, read from the DOM (runs in the page).
function readPage() {
  const all = (selector) => Array.from(document.querySelectorAll(selector));
  const text = (id) => document.getElementById(id).textContent;
  return {
    refreshes: Number(document.body.dataset.refreshes),
    refresh_ok: document.getElementById("refresh").dataset.ok === "true",
    refresh_text: text("refresh"),
    node: text("node-name"),
    servers: all("#topology [data-server]").map((g) => ({
      name: g.dataset.server,
      self: g.dataset.self === "true",
    })),
    links: all("#topology [data-link]").map((g) => ({
      link: g.dataset.link,
      state: g.dataset.state,
      traffic: g.querySelector(".traffic")?.textContent ?? null,
    })),
    peers: all("#links tbody tr").map((row) => ({
      peer: row.dataset.peer,
      state: row.dataset.state,
      cells: Array.from(row.children).map((cell) => cell.textContent),
    })),
    counters: Object.fromEntries(
      ["received", "accepted", "stale", "duplicate"].map((name) => [
        name,
        Number(text(`count-${name}`)),
      ])),
    clients_note: text("clients-note"),
    map_land_chars: (document.getElementById("map-land").getAttribute("d") || "").length,
    dots: all("#map-clients [data-client]").map((dot) => ({
      id: dot.dataset.client,
      cx: Number(dot.getAttribute("cx")),
      cy: Number(dot.getAttribute("cy")),
      title: dot.querySelector("title")?.textContent ?? "",
    })),
    client_rows: all("#clients tbody tr").map((row) => ({
      id: row.dataset.client,
      cells: Array.from(row.children).map((cell) => cell.textContent),
    })),
    updates: all("#updates li").map((item) => ({
      id: item.dataset.client,
      client_time: item.dataset.clientTime,
      origin: item.dataset.origin,
    })),
  };
}

async function main() {
  const url = process.argv[2];
  if (!url) throw new Error("usage: node page_driver.js URL");
  const browser = await chromium.launch({
    executablePath: process.env.HERD_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const requests = [];
  const problems = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  await page.goto(url, { timeout: 20000 });

  const lines = readline.createInterface({ input: process.stdin });
  const answer = (reply) => process.stdout.write(`${JSON.stringify(reply)}\n`);
  for await (const line of lines) {
    if (!line.trim()) continue;
    try {
      const command = JSON.parse(line);
      if (command.cmd === "read") {
        await page.waitForFunction(
          (after) => Number(document.body.dataset.refreshes) > after,
          command.after ?? 0,
          { timeout: command.timeout_ms ?? 15000 });
        answer({ ok: true, page: await page.evaluate(readPage),
                 requests: [...requests], problems: [...problems] });
      } else if (command.cmd === "screenshot") {
        await page.screenshot({ path: command.path, fullPage: true });
        answer({ ok: true, path: command.path });
      } else if (command.cmd === "close") {
        answer({ ok: true });
        break;
      } else {
        answer({ ok: false, error: `unknown command ${JSON.stringify(command.cmd)}` });
      }
    } catch (error) {
      answer({ ok: false, error: String(error && error.message ? error.message : error) });
    }
  }
  await browser.close();
}

// Exits once done: stdin, still open on the test's side, would keep node
// running.
main().then(() => process.exit(0), (error) => {
  console.error(`page_driver.js: ${error && error.stack ? error.stack : error}`);
  process.exit(1);
});
