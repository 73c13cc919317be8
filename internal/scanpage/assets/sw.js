// vaxcert scan page service worker: keeps the page, its scripts and the
// WebAssembly verifier so the page opens and verifies with no network. It
// answers from the cache at once and refreshes the cached copy from the
// network in the background (stale-while-revalidate). The trust lists are
// cached by the page itself, and only after the verifier accepted them.
"use strict";
const SHELL = "vaxcert-scan-v1";
const FILES = ["/scan", "/scan/scan.js", "/scan/scan.css", "/scan/wasm_exec.js", "/scan/verifier.wasm",
  "/scan/decoder.js", "/scan/jsQR.js", "/scan/jsQR.LICENSE"];

self.addEventListener("install", ev => {
  ev.waitUntil(caches.open(SHELL).then(c => c.addAll(FILES)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", ev => { ev.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", ev => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== "GET" || url.origin !== location.origin) return;
  const path = url.pathname;
  if (!FILES.includes(path)) return;
  ev.respondWith(caches.open(SHELL).then(async c => {
    const cached = await c.match(path);
    const update = fetch(ev.request).then(r => {
      if (r.ok) c.put(path, r.clone());
      return r;
    });
    if (cached) {
      ev.waitUntil(update.catch(() => {}));
      return cached;
    }
    return update;
  }));
});
