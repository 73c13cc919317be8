// vaxcert scan page: verifies in the browser with the WebAssembly verifier
// (verifier/offline, the same code as the verifier service), against lists
// checked with the root pinned in this page. Works offline after one visit
// (sw.js caches the page and the wasm; this script caches the lists once the
// verifier has accepted them).
"use strict";
const $ = id => document.getElementById(id);
const cfg = JSON.parse($("config").textContent);
const params = new URLSearchParams(location.search);
const RESET_MS = (Number(params.get("reset")) || cfg.reset_seconds || 10) * 1000;
const LISTS = "vaxcert-lists-v1";

// window.vaxcertPage is read by the browser tests and by people debugging.
const page = window.vaxcertPage = {ready: false, readyMs: 0, verified: 0, decoder: "", frames: 0, decodeMs: 0, listsFrom: ""};

function status(state, vi, en) {
  const s = $("status");
  s.dataset.state = state;
  s.replaceChildren(vi, Object.assign(document.createElement("span"), {className: "en", textContent: en}));
}

// ---- the verifier -------------------------------------------------------

async function startWasm() {
  if (typeof Go !== "function") throw new Error("wasm_exec.js missing");
  const go = new Go();
  const resp = await fetch("/scan/verifier.wasm");
  if (!resp.ok) throw new Error("verifier.wasm: HTTP " + resp.status);
  const {instance} = await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
  go.run(instance); // main registers window.vaxcert, then waits for calls
  if (!window.vaxcert) throw new Error("verifier did not start");
}

async function fetchText(url, options) {
  const r = await fetch(url, options);
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return r.text();
}

// loadLists fetches the lists, checks them in the verifier against the
// pinned root, and keeps the accepted ones in Cache Storage. Without a
// network (or with lists the verifier refuses) it uses the last accepted
// copy.
async function loadLists() {
  let fresh = null;
  try {
    const [trust, rev] = await Promise.all([fetchText(cfg.trust_list, {cache: "no-store"}),
      cfg.revocations ? fetchText(cfg.revocations, {cache: "no-store"}) : Promise.resolve("")]);
    fresh = {trust, rev, at: Date.now()};
  } catch (e) { /* offline: fall back to the cache */ }
  if (fresh) {
    const err = vaxcert.load(cfg.root, fresh.trust, fresh.rev, fresh.at);
    if (err === "") {
      await storeLists(fresh);
      page.listsFrom = "network";
      return fresh.at;
    }
    console.warn("lists refused:", err);
  }
  const cached = await cachedLists();
  if (!cached) throw new Error("no trust list: connect to the network once");
  const err = vaxcert.load(cfg.root, cached.trust, cached.rev, cached.at);
  if (err !== "") throw new Error("cached lists refused: " + err);
  page.listsFrom = "cache";
  return cached.at;
}

async function storeLists(l) {
  if (!("caches" in window)) return;
  const c = await caches.open(LISTS);
  await c.put("/scan/lists.json", new Response(JSON.stringify(l), {headers: {"Content-Type": "application/json"}}));
}

async function cachedLists() {
  if (!("caches" in window)) return null;
  const r = await caches.match("/scan/lists.json", {cacheName: LISTS});
  return r ? r.json() : null;
}

// ---- the answer ---------------------------------------------------------

const COLOUR = {full: "green", booster: "green", recovered: "green", tested: "green",
  partial: "amber", not_accepted: "amber", invalid: "red", revoked: "red"};
const HEADLINE = {
  green: ["HỢP LỆ", "VALID"], amber: ["CHƯA ĐẠT", "NOT ACCEPTED"], red: ["KHÔNG HỢP LỆ", "INVALID"],
};

// ddmmyyyy turns YYYY-MM-DD (or YYYY-MM, YYYY, an RFC 3339 time) into
// dd/mm/yyyy, keeping the parts the date has.
function ddmmyyyy(s) {
  if (!s) return "";
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(s);
  if (!m) return s;
  return [m[3], m[2], m[1]].filter(Boolean).join("/");
}

function ageText(sec) {
  if (sec < 90) return ["vừa cập nhật", "just updated"];
  const min = Math.round(sec / 60);
  if (min < 90) return [min + " phút trước", min + " min ago"];
  const h = Math.round(sec / 3600);
  if (h < 48) return [h + " giờ trước", h + " h ago"];
  const d = Math.round(sec / 86400);
  return [d + " ngày trước", d + " days ago"];
}

let resetTimer = 0;

function show(state, words, answer) {
  const a = $("answer");
  a.dataset.state = state;
  a.dataset.decision = answer ? answer.decision : "";
  $("word").textContent = words[0];
  $("word-en").textContent = words[1];
  const h = answer && answer.holder;
  $("name").textContent = h ? h.name : "";
  $("dob").textContent = h ? ddmmyyyy(h.birth_date) : "";
  $("until").textContent = answer && answer.valid_until ? ddmmyyyy(answer.valid_until) : "";
  if (answer && typeof answer.data_age_seconds === "number") {
    const [vi, en] = ageText(answer.data_age_seconds);
    $("age").textContent = "Dữ liệu tin cậy: " + vi + " · Trust data: " + en;
  } else {
    $("age").textContent = "";
  }
  $("stale").hidden = !(answer && answer.stale);
  clearTimeout(resetTimer);
  if (state !== "idle") {
    page.verified++; // answers shown so far
    resetTimer = setTimeout(reset, RESET_MS);
  }
}

function reset() {
  show("idle", ["Sẵn sàng quét", "Ready to scan"], null);
  $("qr").value = "";
  $("qr").focus();
  scanning = cameraOn;
}

function verify(text) {
  text = (text || "").trim();
  if (text === "") {
    show("empty", ["Chưa có mã: hãy quét hoặc nhập mã", "No code yet: scan or type the code"], null);
    return;
  }
  if (!page.ready) {
    show("empty", ["Chưa sẵn sàng, xin chờ", "Not ready yet, please wait"], null);
    return;
  }
  const answer = JSON.parse(vaxcert.verify(text, Date.now()));
  let colour = COLOUR[answer.decision] || "red";
  if (colour === "green" && answer.stale) colour = "amber"; // do not silently trust old data
  const head = HEADLINE[colour];
  const m = answer.message || {};
  show(colour, [head[0] + " — " + (m.vi || ""), head[1] + " — " + (m.en || "")], answer);
  page.last = answer;
}

// ---- input: keyboard-wedge scanners, paste, camera ---------------------

$("form").addEventListener("submit", ev => {
  ev.preventDefault();
  verify($("qr").value);
  $("qr").value = "";
});
// A USB scanner types into whatever has focus: keep it on the input.
document.addEventListener("keydown", ev => {
  if (ev.target !== $("qr") && !ev.ctrlKey && !ev.altKey && !ev.metaKey && ev.key.length === 1) $("qr").focus();
});

let cameraOn = false, scanning = false;

async function barcodeDetector() {
  if (!("BarcodeDetector" in window)) return null;
  try {
    if (!(await BarcodeDetector.getSupportedFormats()).includes("qr_code")) return null;
    return new BarcodeDetector({formats: ["qr_code"]});
  } catch (e) { return null; }
}

// decoders return the QR text of a frame, or null.
function jsqrDecoder() {
  const worker = new Worker("/scan/decoder.js");
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  let pending = null;
  worker.onmessage = ev => { const p = pending; pending = null; p(ev.data); };
  return async video => {
    const scale = Math.min(1, 800 / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const done = new Promise(resolve => { pending = resolve; });
    worker.postMessage({data: img.data.buffer, width: img.width, height: img.height}, [img.data.buffer]);
    return (await done).text;
  };
}

$("camera").addEventListener("click", async () => {
  if (cameraOn) return;
  const video = $("video");
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}});
  } catch (e) {
    $("camstatus").textContent = "Không mở được camera: hãy cho phép truy cập camera / Cannot open the camera: allow camera access";
    return;
  }
  video.hidden = false;
  await video.play();
  const det = await barcodeDetector();
  let decode;
  if (det) {
    page.decoder = "BarcodeDetector";
    decode = async v => { const c = await det.detect(v); return c.length ? c[0].rawValue : null; };
  } else {
    page.decoder = "jsQR";
    decode = jsqrDecoder();
  }
  // decodeBench(n) decodes n live frames back to back and returns frames/s.
  page.decodeBench = async n => {
    const s = performance.now();
    for (let i = 0; i < n; i++) await decode(video);
    return n / ((performance.now() - s) / 1000);
  };
  cameraOn = scanning = true;
  $("camstatus").textContent = "Đưa mã QR vào khung hình / Hold the QR code in front of the camera";
  let busy = 0;
  const tick = async () => {
    if (scanning && video.readyState >= 2) {
      const s = performance.now();
      let text = null;
      try { text = await decode(video); } catch (e) { /* a bad frame */ }
      busy += performance.now() - s;
      page.frames++;
      page.decodeMs = busy / page.frames;
      if (text && scanning) {
        scanning = false; // until the answer resets
        verify(text);
      }
    }
    requestAnimationFrame(tick);
  };
  tick();
});

// ---- start --------------------------------------------------------------

async function start() {
  const t0 = performance.now();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/scan/sw.js", {scope: "/scan"}).catch(e => console.warn("service worker:", e));
  }
  try {
    await startWasm();
    await loadLists();
  } catch (e) {
    status("error", "Không thể kiểm tra: " + e.message, "Cannot verify: connect to the network once and reload");
    return;
  }
  page.ready = true;
  page.readyMs = performance.now(); // since the navigation started
  page.startMs = performance.now() - t0; // since this script started
  status("ready", "Sẵn sàng quét" + (page.listsFrom === "cache" ? " (ngoại tuyến)" : ""),
    "Ready to scan" + (page.listsFrom === "cache" ? " (offline)" : ""));
  reset();
  // Refresh the lists every 15 minutes while the page is open.
  setInterval(() => loadLists().catch(() => {}), 15 * 60 * 1000);
}
start();
