// vaxcert scan page: verifies in the browser with the WebAssembly verifier
// (verifier/offline, the same code as the verifier service), against lists
// checked with the root pinned in this page, applying the service's signed
// business rules. Works offline after one visit
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

// NoVerifier: the server was built without the WebAssembly verifier.
class NoVerifier extends Error {}

async function startWasm() {
  if (typeof Go !== "function") throw new Error("wasm_exec.js missing");
  const go = new Go();
  const resp = await fetch("/scan/verifier.wasm");
  if (resp.status === 404) throw new NoVerifier();
  if (!resp.ok) throw new Error("verifier.wasm: HTTP " + resp.status);
  // Compile while the bytes arrive where the browser can.
  const {instance} = WebAssembly.instantiateStreaming
    ? await WebAssembly.instantiateStreaming(resp, go.importObject)
    : await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
  go.run(instance); // main registers window.vaxcert, then waits for calls
  if (!window.vaxcert) throw new Error("verifier did not start");
}

async function fetchText(url, options) {
  const r = await fetch(url, options);
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return r.text();
}

// loadLists fetches the signed lists and the signed rule set, has the
// verifier check them against the pinned root (signature, chain, no
// rollback; lists not expired) and apply them as the service does, and
// keeps what it applied in Cache Storage. The copy kept goes in first, so
// that the fetch asks only for the revocations since the list held
// (?since=SEQ: the issuer answers with a delta; the verifier service with
// its full list and deltas) and the fresh lists must not be older than it.
// Without a network (or when the verifier refuses what came) the copy kept
// answers, checked again: an expired list is refused, never trusted for
// ever, and an expired rule set refuses every certificate, as on the
// service.
let held = false; // the verifier holds lists
let heldRules = ""; // the rule set applied, to keep with the lists
const MAX_DELTAS = 32; // then the full list again

async function loadLists() {
  let cacheErr = "";
  if (!held) {
    const cached = await cachedLists();
    if (cached) {
      cacheErr = apply(cached);
      held = cacheErr === "";
    }
  }
  const info = held ? JSON.parse(vaxcert.info(Date.now())) : null;
  let revURL = cfg.revocations;
  if (info && info.usable && info.revocation_sequence > 0 && info.revocation_deltas < MAX_DELTAS) {
    revURL += (revURL.includes("?") ? "&" : "?") + "since=" + info.revocation_sequence;
  }
  let fresh = null;
  try {
    const [trust, rev, rules] = await Promise.all([fetchText(cfg.trust_list, {cache: "no-store"}),
      fetchText(revURL, {cache: "no-store"}), fetchRuleSet()]);
    fresh = {trust, rev, rules};
  } catch (e) { /* offline: the copy kept answers */ }
  if (fresh) {
    const err = apply(fresh);
    if (err === "") {
      held = true;
      await storeLists({trust: fresh.trust, rev: vaxcert.revocations(), rules: heldRules});
      page.listsFrom = "network";
      return;
    }
    console.warn("lists refused:", err);
  }
  if (!held) throw new Error(cacheErr ? "stored lists refused: " + cacheErr : "no trust list yet");
  page.listsFrom = "cache";
}

// fetchRuleSet returns the signed rule set the service applies, or ""
// when it applies none (404) or the page has no rule set URL.
async function fetchRuleSet() {
  if (!cfg.rule_set) return "";
  const r = await fetch(cfg.rule_set, {cache: "no-store"});
  if (r.status === 404) return "";
  if (!r.ok) throw new Error(cfg.rule_set + ": HTTP " + r.status);
  return r.text();
}

// apply hands lists and rule set to the verifier: "" or why it refused.
// An empty rule set keeps the one applied.
function apply(l) {
  const err = vaxcert.load(cfg.root, l.trust, l.rev, Date.now(), cfg.policy || "");
  if (err !== "" || !l.rules) return err;
  const rerr = vaxcert.loadRules(l.rules, cfg.country || "", cfg.region || "");
  if (rerr === "") heldRules = l.rules;
  return rerr;
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
  partial: "amber", not_accepted: "amber", unavailable: "amber", invalid: "red", revoked: "red"};
const HEADLINE = {
  green: ["HỢP LỆ", "VALID"], amber: ["CHƯA ĐẠT", "NOT ACCEPTED"], red: ["KHÔNG HỢP LỆ", "INVALID"],
  stale: ["DỮ LIỆU CŨ", "DATA OUT OF DATE"], unavailable: ["CHƯA KIỂM TRA ĐƯỢC", "CANNOT CHECK"],
};
// Words for a certificate that failed a technical check, by reason code
// (the codes themselves are never shown).
const INVALID = {
  expired: ["Chứng nhận đã hết hạn", "Certificate expired"],
  not_yet_valid: ["Chứng nhận chưa có hiệu lực", "Certificate not yet valid"],
  bad_signature: ["Chữ ký không hợp lệ: mã có thể đã bị sửa", "Invalid signature: the code may have been altered"],
  alg_mismatch: ["Chữ ký không hợp lệ", "Invalid signature"],
  unknown_kid: ["Không rõ cơ quan cấp: không tin cậy", "Unknown issuer: not trusted"],
  key_usage: ["Cơ quan ký không được cấp loại chứng nhận này", "The signer may not issue this kind of certificate"],
  outside_signer_window: ["Chứng nhận ngoài thời hạn của khóa ký", "Certificate outside its signer's validity"],
  bad_prefix: ["Không phải mã chứng nhận", "Not a certificate code"],
  too_large: ["Mã quá dài: không phải mã chứng nhận", "Code too long: not a certificate"],
  schema: ["Nội dung chứng nhận không hợp lệ", "Certificate content is invalid"],
  value_set: ["Nội dung chứng nhận không hợp lệ", "Certificate content is invalid"],
};
const INVALID_OTHER = ["Mã bị hỏng hoặc không đọc được", "The code is damaged or unreadable"];

// ddmmyyyy turns YYYY-MM-DD, YYYY-MM or YYYY into dd/mm/yyyy, keeping the
// parts the date has.
function ddmmyyyy(s) {
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$/.exec(s || "");
  return m ? [m[3], m[2], m[1]].filter(Boolean).join("/") : (s || "");
}

// localDate shows an RFC 3339 instant as a local dd/mm/yyyy.
function localDate(s) {
  const d = new Date(s);
  if (isNaN(d)) return "";
  const p = n => String(n).padStart(2, "0");
  return p(d.getDate()) + "/" + p(d.getMonth() + 1) + "/" + d.getFullYear();
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

// show fills the answer panel: head is the big [vi, en] headline, msg the
// [vi, en] sentence under it.
function show(state, head, msg, answer) {
  const a = $("answer");
  a.dataset.state = state;
  a.dataset.decision = answer ? answer.decision : "";
  $("word").textContent = head[0];
  $("word-en").textContent = head[1];
  $("msg").textContent = msg[0];
  $("msg-en").textContent = msg[1];
  const h = answer && answer.holder;
  $("name").textContent = h ? h.name : "";
  $("dob").textContent = h ? ddmmyyyy(h.birth_date) : "";
  $("until").textContent = answer && answer.valid_until ? localDate(answer.valid_until) : "";
  $("until-label").hidden = $("until").textContent === "";
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

// reset clears the answer for the next person. It leaves the input alone:
// a scanner may be typing the next code already (submitting clears it).
function reset() {
  show("idle", ["Sẵn sàng quét", "Ready to scan"], ["", ""], null);
  $("qr").focus();
  scanning = cameraOn;
}

async function verify(text) {
  text = (text || "").trim();
  if (text === "") {
    show("empty", ["Chưa có mã", "No code yet"], ["Hãy quét hoặc nhập mã", "Scan or type the code"], null);
    return;
  }
  if (!page.ready) {
    show("empty", ["Chưa sẵn sàng", "Not ready yet"], ["Xin chờ một chút", "Please wait a moment"], null);
    return;
  }
  const answer = JSON.parse(await vaxcert.verify(text, Date.now()));
  let colour = COLOUR[answer.decision] || "red", head = HEADLINE[colour], words;
  if (answer.decision === "invalid") {
    words = INVALID[answer.reason] || INVALID_OTHER;
  } else {
    const m = answer.message || {};
    words = [m.vi || "", m.en || ""];
  }
  if (answer.decision === "unavailable") head = HEADLINE.unavailable;
  if (answer.stale && colour !== "red") { // do not admit on old data alone
    colour = "amber";
    head = HEADLINE.stale;
  }
  show(colour, head, words, answer);
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
    console.warn(e);
    if (e instanceof NoVerifier) {
      status("error", "Máy chủ này được dựng thiếu bộ kiểm tra (verifier.wasm): người quản trị cần dựng lại bằng make build",
        "This server was built without the verifier (verifier.wasm): its administrator must rebuild it with make build");
    } else {
      status("error", "Không thể kiểm tra: hãy kết nối mạng một lần rồi tải lại trang",
        "Cannot verify: connect to the network once, then reload the page");
    }
    return;
  }
  const info = JSON.parse(vaxcert.info(Date.now()));
  if (!info.usable) {
    status("error", "Danh sách tin cậy không dùng được: hãy kết nối mạng", "Trust lists unusable: connect to the network");
    return;
  }
  page.ready = true;
  page.readyMs = performance.now(); // since the navigation started
  page.startMs = performance.now() - t0; // since this script started
  status("ready", "Sẵn sàng quét" + (page.listsFrom === "cache" ? " (ngoại tuyến)" : ""),
    "Ready to scan" + (page.listsFrom === "cache" ? " (offline)" : ""));
  reset();
  // Refresh the lists every 15 minutes while the page is open, and when
  // the network comes back.
  setInterval(() => loadLists().catch(() => {}), 15 * 60 * 1000);
  window.addEventListener("online", () => loadLists().catch(() => {}));
}
start();
