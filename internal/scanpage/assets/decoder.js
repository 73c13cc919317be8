// Camera frame decoder (a worker): jsQR 1.4.0, Apache-2.0 (jsQR.LICENSE).
"use strict";
importScripts("/scan/jsQR.js");
onmessage = ev => {
  const {data, width, height} = ev.data;
  const code = jsQR(new Uint8ClampedArray(data), width, height, {inversionAttempts: "dontInvert"});
  postMessage({text: code ? code.data : null});
};
