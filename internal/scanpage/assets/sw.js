// vaxcert scan page service worker: keeps the page, its scripts and the
// WebAssembly verifier so the page opens and verifies with no network.
// The server writes the build's version into VERSION: a new build installs
// a fresh, complete cache (so the page, wasm_exec.js and the wasm always
// match) and the old one is deleted once the new worker takes over. Files
// are answered from the cache first. The trust lists and the rule set are
// cached by the page itself, and only after the verifier accepted them.
"use strict";
const VERSION = "{{VERSION}}";
const SHELL = "vaxcert-scan-" + VERSION;
const FILES = ["/scan", "/scan/scan.js", "/scan/scan.css", "/scan/wasm_exec.js", "/scan/verifier.wasm",
  "/scan/decoder.js", "/scan/jsQR.js", "/scan/jsQR.LICENSE"];

self.addEventListener("install", ev => {
  ev.waitUntil(caches.open(SHELL)
    .then(c => c.addAll(FILES.map(f => new Request(f, {cache: "reload"}))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", ev => {
  ev.waitUntil(caches.keys()
    .then(keys => Promise.all(keys.filter(k => k.startsWith("vaxcert-scan-") && k !== SHELL).map(k => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", ev => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== "GET" || url.origin !== location.origin || !FILES.includes(url.pathname)) return;
  ev.respondWith(caches.open(SHELL).then(async c => (await c.match(url.pathname)) || fetch(ev.request)));
});
