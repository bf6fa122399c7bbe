// Parc: the campaign scanning page. A USB scanner types the code and Enter into the field, or
// the camera reads a QR label / barcode (where the browser has BarcodeDetector), or the code is
// typed by hand. Each scan is posted to the API; the answer (found, duplicate, unexpected) shows
// with a colour, a sound and a vibration, the counts and lists move, and the field is ready for
// the next scan. Other technicians' scans arrive by polling every two seconds. Without this
// script the form posts and the page reloads with the result.
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  if (!form || !window.fetch) return;
  var id = form.dataset.campaign, csrf = form.dataset.csrf, after = parseInt(form.dataset.after || "0", 10);
  var input = document.getElementById("scan-code"), banner = document.getElementById("scan-result");
  var feed = document.getElementById("scan-feed"), seen = {}, busy = false, queue = [];
  var audio = null;

  function label(outcome) { return form.dataset["l" + outcome.charAt(0).toUpperCase() + outcome.slice(1)] || outcome; }
  function beep(freqs) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var t = audio.currentTime;
      freqs.forEach(function (f, i) {
        var o = audio.createOscillator(), g = audio.createGain();
        o.frequency.value = f; o.type = "square"; g.gain.value = 0.06;
        o.connect(g); g.connect(audio.destination);
        o.start(t + i * 0.14); o.stop(t + i * 0.14 + 0.11);
      });
    } catch (e) { /* no sound: the colour still tells */ }
  }
  var cues = { found: [1320], unexpected: [880, 440], duplicate: [330, 330], error: [160] };
  function cue(kind) {
    beep(cues[kind] || cues.error);
    if (navigator.vibrate) navigator.vibrate(kind === "found" ? 60 : [120, 60, 120]);
  }
  function show(kind, text) {
    banner.className = "scan-result " + kind;
    banner.textContent = text;
    // Restart the flash animation even when two scans in a row have the same outcome.
    void banner.offsetWidth; banner.classList.add("flash");
  }
  function counts(t) {
    if (!t) return;
    Object.keys(t).forEach(function (k) {
      document.querySelectorAll('[data-count="' + k + '"]').forEach(function (el) { el.textContent = t[k]; });
    });
  }
  function li(text, cls) { var el = document.createElement("li"); if (cls) el.className = cls; el.textContent = text; return el; }
  function meta(s) { return (s.user_name ? s.user_name + " · " : "") + new Date(s.at).toLocaleTimeString(); }
  function apply(s) {
    if (seen[s.id]) return;
    seen[s.id] = true;
    if (s.id > after) after = s.id;
    var entry = li("", s.outcome), strong = document.createElement("strong");
    strong.textContent = label(s.outcome); entry.appendChild(strong);
    entry.appendChild(document.createTextNode(" " + s.label + " "));
    var small = document.createElement("small"); small.textContent = meta(s); entry.appendChild(small);
    feed.insertBefore(entry, feed.firstChild);
    while (feed.children.length > 20) feed.removeChild(feed.lastChild);
    if (s.outcome === "found" && s.item_id) {
      var item = document.getElementById("item-" + s.item_id), found = document.getElementById("list-found");
      if (item && found) { found.insertBefore(item, found.firstChild); }
    } else if (s.outcome === "unexpected") {
      var u = document.getElementById("list-unexpected"); if (u) u.insertBefore(li(s.label + " — " + meta(s), "unexpected"), u.firstChild);
    } else if (s.outcome === "duplicate") {
      var d = document.getElementById("list-duplicates"); if (d) d.insertBefore(li(s.label + " — " + meta(s), "duplicate"), d.firstChild);
    }
  }
  function send(code) {
    if (busy) { queue.push(code); return; }
    busy = true;
    fetch("/api/v1/campaigns/" + id + "/scans", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: JSON.stringify({ code: code })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (res.ok) {
        apply(res.body.scan); counts(res.body.tally);
        show(res.body.scan.outcome, label(res.body.scan.outcome) + " : " + res.body.scan.label);
        cue(res.body.scan.outcome);
      } else {
        var e = res.body && res.body.error, f = e && e.details && e.details.fields, msg = e ? (f && f[0] ? (form.dataset["e" + f[0].code] || f[0].message) : e.message) : "";
        show("error", code + " : " + msg); cue("error");
      }
    }).catch(function () {
      show("error", form.dataset.lOffline + " " + code); cue("error");
    }).then(function () {
      busy = false;
      if (queue.length) send(queue.shift());
    });
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var code = input.value.trim();
    input.value = ""; input.focus();
    if (code) send(code);
  });
  function poll() {
    fetch("/api/v1/campaigns/" + id + "/scans?after=" + after, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) return;
        body.scans.forEach(apply); counts(body.tally);
        if (!body.open) { window.location.reload(); }
      }).catch(function () {});
  }
  setInterval(function () { if (!document.hidden) poll(); }, 2000);

  // The camera, where the browser reads barcodes and QR codes itself.
  var camera = document.getElementById("scan-camera"), video = document.getElementById("scan-video");
  if (camera && video && "BarcodeDetector" in window && navigator.mediaDevices) {
    camera.hidden = false;
    var stream = null, timer = null, last = "", lastAt = 0, detector = null;
    function stop() {
      if (timer) clearInterval(timer); timer = null;
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); }); stream = null;
      video.hidden = true; camera.textContent = form.dataset.lCamera;
    }
    camera.addEventListener("click", function () {
      if (stream) { stop(); return; }
      detector = detector || new window.BarcodeDetector();
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
        stream = s; video.srcObject = s; video.hidden = false; video.play();
        camera.textContent = form.dataset.lStop;
        timer = setInterval(function () {
          detector.detect(video).then(function (codes) {
            if (!codes.length) return;
            var code = codes[0].rawValue, now = Date.now();
            if (code === last && now - lastAt < 3000) return;
            last = code; lastAt = now; send(code);
          }).catch(function () {});
        }, 250);
      }).catch(function () { show("error", form.dataset.lOffline); });
    });
  }
})();
