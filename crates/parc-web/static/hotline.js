// Hotline quick entry: matches under the caller field as one types, picked with the arrow keys
// and Enter; picking fills requester, asset, location and entity and moves on to the problem;
// Enter (Ctrl+Enter in the description) opens the ticket. The page works without this file.
(function () {
  "use strict";
  var form = document.getElementById("hotline");
  if (!form || !window.fetch) return;
  var byId = function (id) { return document.getElementById("h-" + id); };
  var q = byId("q"), list = byId("list"), title = byId("title"), create = byId("create");
  var entity = byId("entity_id"), picked = byId("picked"), clear = byId("clear");
  var items = [], active = -1, timer = null, seq = 0;
  byId("search").hidden = true;
  clear.hidden = picked.hidden;

  function assetLabel(a) { return a.name + (a.tag ? " (" + a.tag + ")" : ""); }
  function personLabel(u) { return u.name + (u.phone ? " · " + u.phone : ""); }
  function label(s) {
    var parts = [];
    if (s.kind === "asset" && s.asset) {
      parts.push(assetLabel(s.asset) + (s.asset.ip ? " · " + s.asset.ip : "") +
        (s.asset.line_number ? " · " + s.asset.line_number : ""));
    }
    if (s.requester) parts.push(personLabel(s.requester));
    if (s.kind === "user" && s.asset) parts.push(assetLabel(s.asset));
    parts.push(s.entity.name);
    return parts.join(" — ");
  }

  function close() {
    list.hidden = true; active = -1;
    q.setAttribute("aria-expanded", "false"); q.removeAttribute("aria-activedescendant");
  }
  function highlight(i) {
    active = i;
    Array.prototype.forEach.call(list.children, function (li, n) {
      li.setAttribute("aria-selected", n === i ? "true" : "false");
    });
    if (i >= 0) {
      q.setAttribute("aria-activedescendant", list.children[i].id);
      list.children[i].scrollIntoView({ block: "nearest" });
    }
  }
  function show(data) {
    items = data.items || [];
    list.innerHTML = "";
    items.forEach(function (s, i) {
      var li = document.createElement("li"), kind = document.createElement("span");
      li.id = "h-opt-" + i; li.setAttribute("role", "option"); li.setAttribute("aria-selected", "false");
      kind.className = "kind"; kind.textContent = s.kind === "user" ? form.dataset.kindUser : form.dataset.kindAsset;
      li.appendChild(kind); li.appendChild(document.createTextNode(" " + label(s)));
      li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(i); });
      list.appendChild(li);
    });
    active = -1;
    list.hidden = items.length === 0;
    q.setAttribute("aria-expanded", items.length ? "true" : "false");
  }
  function lookUp() {
    var text = q.value.trim(), mine = ++seq;
    if (text.length < 2) { items = []; close(); return; }
    fetch(form.dataset.suggest + "?limit=10&q=" + encodeURIComponent(text),
      { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (data) { if (mine === seq) show(data); })
      .catch(function () { if (mine === seq) close(); });
  }

  // What a match fills (or, with null, nothing any more).
  function fill(s) {
    byId("requester_user_id").value = s && s.requester ? s.requester.id : "";
    byId("asset_id").value = s && s.asset ? s.asset.id : "";
    byId("location_id").value = s && s.location ? s.location.id : "";
    if (s) entity.value = String(s.entity.id);
    byId("p-requester").textContent = s && s.requester ? personLabel(s.requester) : "—";
    byId("p-asset").textContent = s && s.asset ? assetLabel(s.asset) : "—";
    byId("p-location").textContent = s && s.location ? s.location.path : "—";
    byId("p-entity").textContent = s ? s.entity.name : "";
    picked.hidden = !s; clear.hidden = !s;
  }
  function pick(i) {
    var s = items[i];
    if (!s) return;
    fill(s);
    q.value = s.requester ? s.requester.name : assetLabel(s.asset);
    close();
    title.focus();
  }
  function submit() {
    if (form.requestSubmit) form.requestSubmit(create); else create.click();
  }

  q.addEventListener("input", function () {
    if (!picked.hidden) fill(null);
    clearTimeout(timer);
    timer = setTimeout(lookUp, 120);
  });
  q.addEventListener("blur", close);
  q.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown" && items.length) {
      e.preventDefault(); list.hidden = false; q.setAttribute("aria-expanded", "true");
      highlight(Math.min(active + 1, items.length - 1));
    } else if (e.key === "ArrowUp" && items.length) {
      e.preventDefault(); highlight(Math.max(active - 1, 0));
    } else if (e.key === "Escape") {
      close();
    } else if (e.key === "Enter") {
      // Enter never submits from here: it picks, or (nobody matches) goes on to the problem.
      e.preventDefault();
      if (active >= 0 && !list.hidden) pick(active);
      else if (items.length === 1 && !list.hidden) pick(0);
      else { close(); title.focus(); }
    }
  });
  form.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key !== "Enter" || t === q || t.tagName === "BUTTON" || t.tagName === "A") return;
    if (t.tagName === "TEXTAREA" && !(e.ctrlKey || e.metaKey)) return;
    e.preventDefault();
    submit();
  });
  clear.addEventListener("click", function () { fill(null); q.value = ""; q.focus(); });
})();
