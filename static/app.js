/* fieldops tablet app: offline-tolerant confirmations, camera scanning, live updates.
 *
 * Confirmations go into an outbox in localStorage first, each with a client-generated ID, and
 * are sent from there; a lost connection (or a server restart) leaves them queued and they are
 * replayed when the network is back. The server records a client ID at most once, so replays
 * never double-confirm. No external scripts; the vendored jsQR is loaded only when the browser
 * has no BarcodeDetector.
 */
(function () {
  "use strict";

  var OUTBOX = "fieldops.outbox.v1";
  var RETRY_MS = 2000;

  function $(id) { return document.getElementById(id); }
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  // ------------------------------------------------------------ outbox

  function loadOutbox() {
    try { return JSON.parse(localStorage.getItem(OUTBOX) || "[]"); } catch (e) { return []; }
  }
  function saveOutbox(items) {
    localStorage.setItem(OUTBOX, JSON.stringify(items));
    showOutbox(items);
  }
  function showOutbox(items) {
    var box = $("outbox");
    if (!box) return;
    if (!items.length) { box.hidden = true; box.textContent = ""; return; }
    box.hidden = false;
    box.textContent = items.length + " confirmation(s) saved on this tablet, waiting for the connection to come back. Keep working; they will be sent automatically.";
  }

  function send(item) {
    return fetch(item.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), "Accept": "application/json" },
      body: JSON.stringify(item.body)
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (r.ok) return { status: "ok", data: data, code: r.status };
        if (r.status >= 500 || r.status === 408 || r.status === 429) return { status: "offline", code: r.status };
        if (r.status === 401) return { status: "login", code: r.status };
        return { status: "refused", data: data, code: r.status };
      });
    }, function () { return { status: "offline" }; });
  }

  var flushing = false;
  function flush() {
    if (flushing) return Promise.resolve();
    var items = loadOutbox();
    if (!items.length) return Promise.resolve();
    flushing = true;
    var i = 0;
    function next() {
      if (i >= items.length) return Promise.resolve();
      var item = items[i++];
      return send(item).then(function (res) {
        if (res.status === "offline" || res.status === "login") {
          if (res.status === "login") showError("Your session ended: log in again; the confirmation stays saved on this tablet.");
          return;  // keep it and everything after it
        }
        saveOutbox(loadOutbox().filter(function (x) { return x.body.client_id !== item.body.client_id; }));
        onResult(item, res);
        return next();
      });
    }
    return next().then(function () { flushing = false; }, function () { flushing = false; });
  }

  function showError(msg) {
    var e = $("error"), ok = $("ok");
    if (ok) ok.hidden = true;
    if (e) { e.textContent = msg; e.hidden = false; e.scrollIntoView({ block: "center" }); }
  }
  function showOk(msg) {
    var e = $("error"), ok = $("ok");
    if (e) e.hidden = true;
    if (ok) { ok.textContent = msg; ok.hidden = false; }
  }

  var confirmedHere = {};  // steps this tablet confirmed: its own live event must not replace the message

  // A full-width confirmation of what was recorded, a short vibration where the browser has
  // one, then the next step: a gloved hand sees at a glance that the scan took.
  function showConfirmed(title, detail, next) {
    var box = $("confirmed");
    if (!box) { showOk("Confirmed: " + title + (detail ? " (" + detail + ")" : "")); return; }
    $("confirmed-title").textContent = "Confirmed: " + title;
    $("confirmed-detail").textContent = detail;
    box.hidden = false;
    if (navigator.vibrate) { try { navigator.vibrate([80, 40, 80]); } catch (e) { /* not allowed */ } }
    if (next) setTimeout(function () { window.location.assign(next); }, 1600);
  }

  function recordedText(data) {
    var conf = data && data.confirmation, parts = [];
    if (conf && conf.codes && conf.codes.length) parts.push("scanned " + conf.codes.join(" + "));
    if (conf && conf.at) parts.push("recorded " + new Date(conf.at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    if (data && data.duplicate) parts.push("already recorded before");
    return parts.join(" · ");
  }

  function onResult(item, res) {
    var here = document.body.dataset.step === item.step;
    var message = res.data && res.data.error ? res.data.error.message : "";
    if (res.status === "ok") {
      confirmedHere[item.step] = true;
      clearScans(item.step);
      var title = res.data && res.data.step ? res.data.step.title : item.step;
      if (here) {
        var form = $("confirm-form");
        showConfirmed(title, recordedText(res.data), form ? form.dataset.next : "/tech/");
      } else {
        showOk("Confirmed: " + title + (res.data && res.data.duplicate ? " (already recorded)" : ""));
      }
    } else if (here) {
      showError(message || ("Refused (" + res.code + ")"));
      var input = $("codes");
      if (input) { input.value = ""; input.focus(); }
    } else {
      var box = $("outbox");
      if (box) { box.hidden = false; box.textContent = "A saved confirmation of " + item.step + " was refused: " + message; }
    }
  }

  // ------------------------------------------------------------ both ends of a cable

  // The labels scanned so far on this step, kept on the tablet (a reload keeps them): a cable
  // is confirmed only with the label at each end, in either order.
  function scansKey(step) { return "fieldops.scans." + step; }
  function loadScans(step) {
    try { return JSON.parse(localStorage.getItem(scansKey(step)) || "{}"); } catch (e) { return {}; }
  }
  function saveScans(step, scans) { localStorage.setItem(scansKey(step), JSON.stringify(scans)); }
  function clearScans(step) { localStorage.removeItem(scansKey(step)); }

  function splitCodes(text) { return text.split(/[\s,;]+/).filter(Boolean).map(function (c) { return c.trim().toUpperCase(); }); }

  function endRow(letter) { return $("end-" + letter); }
  function endPlace(letter) {
    var row = endRow(letter);
    if (!row) return "end " + letter;
    var cells = row.querySelectorAll("td");
    return "rack " + row.dataset.rack + ", " + cells[1].textContent.trim() + ", " + cells[2].textContent.trim() + ", " + cells[3].textContent.trim().replace(/\s+/g, "");
  }

  // where the technician stands: the end of this step at its rack (the near end)
  function hereText() {
    var near = null;
    ["A", "B"].forEach(function (letter) {
      var row = endRow(letter);
      if (!near && row && row.dataset.rack === document.body.dataset.rack) near = letter;
    });
    return near ? "You are at this step's end " + near + " (" + endPlace(near) + "). " : "";
  }

  function showScans(step) {
    var scans = loadScans(step), missing = [];
    ["A", "B"].forEach(function (letter) {
      var cell = $("scan-" + letter), row = endRow(letter);
      if (!cell || !row) return;
      if (scans[letter]) {
        cell.textContent = "✓ scanned";
        row.classList.add("scanned");
      } else {
        cell.textContent = "not scanned";
        row.classList.remove("scanned");
        missing.push(letter);
      }
    });
    return missing;
  }

  // One scanned or typed label on a both-ends step: the server says what it is and where it
  // belongs (GET /api/codes/...); the right cable's end is ticked, anything else refused with
  // the scanned label's own place. Without a connection a label of this cable is ticked and
  // the server checks it when the confirmation is sent.
  function takeScan(form, code) {
    var step = document.body.dataset.step, expected = (form.dataset.codes || "").split(" ");
    var m = /^(.+)\/([AB])$/.exec(code);
    return fetch(form.dataset.where + encodeURIComponent(code), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) { return { r: r, data: data }; });
    }, function () { return null; }).then(function (res) {
      if (res === null || res.r.status >= 500) {  // offline: trust the label's own text for now
        if (m && expected.indexOf(m[1]) >= 0) return { ok: true, end: m[2] };
        return { ok: false, message: code + " is not a label of this cable; this step needs " + expected.map(function (c) { return c + "/A and " + c + "/B"; }).join(", ") };
      }
      if (!res.r.ok) {
        var msg = res.data && res.data.error ? res.data.error.message : ("refused (" + res.r.status + ")");
        return { ok: false, message: "Wrong label: " + msg + ". This step needs " + expected.map(function (c) { return c + "/A and " + c + "/B"; }).join(", ") + "." };
      }
      var data = res.data || {}, mine = (data.steps || []).some(function (s) { return s.step_id === step; });
      if (mine && (data.end === "A" || data.end === "B")) return { ok: true, end: data.end };
      if (mine) return { ok: false, message: code + " names no end: scan the label at each end (" + expected[0] + "/A and " + expected[0] + "/B)." };
      var home = (data.steps || [])[0] || {};
      var where = home.end_place || [home.rack && ("rack " + home.rack), home.u != null && ("U" + home.u), home.face].filter(Boolean).join(", ");
      var what = data.end ? "end " + data.end + " of cable " + data.code : data.code;
      return { ok: false, message: "Wrong label: " + code + " is " + what + ": it belongs at " + where + " (step " + home.step_id + (home.assignee ? ", " + home.assignee : "") + "). " + hereText() + "This step needs " + expected.map(function (c) { return c + "/A and " + c + "/B"; }).join(", ") + "." };
    });
  }

  function wireBothEnds(form, submitCodes) {
    var step = document.body.dataset.step;
    var input = form.querySelector('[name="codes"]');
    showScans(step);
    return function (text) {
      var codes = splitCodes(text), chain = Promise.resolve(true);
      codes.forEach(function (code) {
        chain = chain.then(function (go) {
          if (!go) return false;
          return takeScan(form, code).then(function (res) {
            if (!res.ok) { showError(res.message); return false; }
            var scans = loadScans(step);
            var again = scans[res.end];
            scans[res.end] = code;
            saveScans(step, scans);
            var missing = showScans(step);
            if (missing.length) {
              showOk((again ? "End " + res.end + " again. " : "End " + res.end + " scanned (" + endPlace(res.end) + "). ") +
                     "Now scan end " + missing[0] + " at " + endPlace(missing[0]) + ".");
            }
            return true;
          });
        });
      });
      return chain.then(function () {
        if (input) input.value = "";
        var scans = loadScans(step);
        if (scans.A && scans.B) submitCodes([scans.A, scans.B]);
      });
    };
  }

  function wireConfirm() {
    var form = $("confirm-form");
    if (!form) return;
    var bothEnds = form.dataset.bothEnds === "yes" ? wireBothEnds(form, function (codes) { send_(codes); }) : null;
    function send_(codes) {
      var stepId = document.body.dataset.step;
      var noteEl = form.querySelector('[name="note"]');
      var note = noteEl ? noteEl.value.trim() : "";
      queue(stepId, codes, note);
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var stepId = document.body.dataset.step;
      if (loadOutbox().some(function (x) { return x.step === stepId; })) {
        showError("This step's confirmation is already saved and waiting to be sent.");
        return;
      }
      var input = form.querySelector('[name="codes"]');
      if (bothEnds) {
        var scans = loadScans(stepId);
        if (input && input.value.trim()) { bothEnds(input.value); return; }
        if (scans.A && scans.B) { send_([scans.A, scans.B]); return; }
        var missing = showScans(stepId);
        showError("Scan the label at both ends first: end " + missing.join(" and end ") + " not scanned yet (" + missing.map(endPlace).join("; ") + ").");
        return;
      }
      send_(input ? input.value.split(/[\s,;]+/).filter(Boolean) : []);
    });
  }

  // the note and a loop test's readings (inputs marked data-reading), as numbers
  function evidenceOf(form, note) {
    var ev = note ? { note: note } : {};
    var inputs = form.querySelectorAll("[data-reading]");
    if (inputs.length) {
      ev.readings = {};
      Array.prototype.forEach.call(inputs, function (el) {
        if (el.value.trim() !== "") ev.readings[el.dataset.reading] = Number(el.value);
      });
    }
    return ev;
  }

  function queue(stepId, codes, note) {
      var form = $("confirm-form");
      var item = {
        url: form.dataset.api,
        step: stepId,
        queued_at: Date.now(),
        body: { client_id: newId(), codes: codes, evidence: evidenceOf(form, note) }
      };
      var items = loadOutbox();
      items.push(item);
      saveOutbox(items);
      var btn = $("confirm-btn");
      if (btn) btn.disabled = true;
      flush().then(function () {
        if (btn) btn.disabled = false;
        if (loadOutbox().some(function (x) { return x.body.client_id === item.body.client_id; })) {
          showOk("No connection: the confirmation is saved on this tablet and will be sent automatically.");
        }
      });
  }

  // ------------------------------------------------------------ camera scanning

  function loadJsQR() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = "/static/vendor/jsqr/jsQR.js";
      s.onload = function () { resolve(window.jsQR); };
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  function wireScan() {
    var btn = $("scan-btn"), video = $("camera"), input = $("codes");
    if (!btn || !video || !input || !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) return;
    btn.hidden = false;
    var stream = null;
    function stop() {
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
      video.hidden = true;
      btn.textContent = "Scan with camera";
    }
    function found(text) {
      input.value = (input.value ? input.value + " " : "") + text;
      stop();
      $("confirm-form").requestSubmit();
    }
    btn.addEventListener("click", function () {
      if (stream) { stop(); return; }
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        btn.textContent = "Stop camera";
        return video.play();
      }).then(function () {
        var useNative = "BarcodeDetector" in window;
        var detector = useNative ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
        var canvas = document.createElement("canvas");
        var ctx = canvas.getContext("2d", { willReadFrequently: true });
        var decoder = useNative ? Promise.resolve(null) : loadJsQR();
        decoder.then(function (jsQR) {
          function tick() {
            if (!stream) return;
            if (detector) {
              detector.detect(video).then(function (codes) {
                if (codes.length) found(codes[0].rawValue); else setTimeout(tick, 200);
              }, function () { setTimeout(tick, 400); });
            } else if (video.videoWidth) {
              canvas.width = video.videoWidth;
              canvas.height = video.videoHeight;
              ctx.drawImage(video, 0, 0);
              var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
              var code = jsQR(img.data, img.width, img.height, { inversionAttempts: "dontInvert" });
              if (code && code.data) found(code.data); else setTimeout(tick, 250);
            } else {
              setTimeout(tick, 250);
            }
          }
          tick();
        });
      }).catch(function (e) {
        stop();
        showError("The camera is not available (" + (e && e.name ? e.name : "error") + "): type the code instead.");
      });
    });
  }

  // ------------------------------------------------------------ live updates

  function wireLive() {
    var mode = document.body.dataset.live;
    if (!mode || !window.EventSource) return;
    var after = document.body.dataset.lastEvent || "now";
    var es = new EventSource("/events/stream?after=" + encodeURIComponent(after));
    var pending = null;
    function busy() {
      var a = document.activeElement;
      return a && (a.tagName === "INPUT" || a.tagName === "TEXTAREA" || a.tagName === "SELECT") && a.value;
    }
    function refreshPanel() {
      pending = null;
      if (busy()) { pending = setTimeout(refreshPanel, 2000); return; }
      fetch(document.body.dataset.panel, { credentials: "same-origin" }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html !== null && html !== undefined) { $("panel").innerHTML = html; }
      }, function () {});
    }
    es.onmessage = function (msg) {
      var ev;
      try { ev = JSON.parse(msg.data); } catch (e) { return; }
      if (mode === "lead") {
        if (!pending) pending = setTimeout(refreshPanel, 250);
        return;
      }
      var crew = document.body.dataset.crew, d = ev.data || {};
      var mine = d.assignee === crew || d.to === crew || d.from === crew;
      var thisStep = ev.step_id && ev.step_id === document.body.dataset.step;
      if (ev.kind === "scan_refused" || !(mine || thisStep)) return;
      if (thisStep && ev.kind === "step_confirmed" && !confirmedHere[ev.step_id]) {
        showOk("This step was confirmed by " + ev.actor + ".");
      }
      if (!busy() && !loadOutbox().length) setTimeout(function () { window.location.reload(); }, 800);
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    showOutbox(loadOutbox());
    wireConfirm();
    wireScan();
    wireLive();
    flush();
    window.addEventListener("online", flush);
    setInterval(function () { if (loadOutbox().length) flush(); }, RETRY_MS);
  });
})();
