// Parc: small enhancements only; every page works without this file.
(function () {
  "use strict";
  // Confirm before destructive forms.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) { if (!window.confirm(f.dataset.confirm)) e.preventDefault(); });
  });
  // Asset form: show only the fields of the chosen kind.
  var kind = document.querySelector("[data-kind-select]");
  if (kind) {
    var toggle = function () {
      document.querySelectorAll("fieldset[data-kinds]").forEach(function (fs) {
        fs.hidden = kind.value !== "" && fs.dataset.kinds.split(" ").indexOf(kind.value) < 0;
      });
    };
    kind.addEventListener("change", toggle); toggle();
  }
  // Search-as-you-type in the global search box.
  var box = document.querySelector("[data-suggest]");
  if (box && window.fetch) {
    var list = document.createElement("ul"); list.className = "suggest"; list.hidden = true;
    list.setAttribute("role", "listbox"); box.parentNode.appendChild(list);
    var timer = null;
    box.addEventListener("input", function () {
      clearTimeout(timer);
      var q = box.value.trim();
      if (q.length < 2) { list.hidden = true; return; }
      timer = setTimeout(function () {
        fetch(box.dataset.suggest + "?limit=8&q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (data) {
            list.innerHTML = "";
            (data.items || []).forEach(function (a) {
              var li = document.createElement("li"), link = document.createElement("a");
              link.href = "/assets/" + a.id;
              link.textContent = a.name + (a.asset_tag ? " · " + a.asset_tag : "") + (a.assigned_user_name ? " · " + a.assigned_user_name : "");
              li.appendChild(link); list.appendChild(li);
            });
            list.hidden = list.children.length === 0;
          }).catch(function () { list.hidden = true; });
      }, 150);
    });
    box.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && !list.hidden) { e.preventDefault(); var a = list.querySelector("a"); if (a) a.focus(); }
      if (e.key === "Escape") list.hidden = true;
    });
    list.addEventListener("keydown", function (e) {
      var cur = document.activeElement.parentNode;
      if (e.key === "ArrowDown" && cur.nextSibling) { e.preventDefault(); cur.nextSibling.firstChild.focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); if (cur.previousSibling) cur.previousSibling.firstChild.focus(); else box.focus(); }
      if (e.key === "Escape") { list.hidden = true; box.focus(); }
    });
  }
  // User suggestions for the asset form.
  var u = document.querySelector("[data-suggest-users]"), dl = document.getElementById("user-suggestions");
  if (u && dl && window.fetch) {
    var t2 = null;
    u.addEventListener("input", function () {
      clearTimeout(t2);
      var q = u.value.trim(); if (q.length < 2) return;
      t2 = setTimeout(function () {
        fetch("/api/v1/users?limit=10&q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (data) {
            dl.innerHTML = "";
            (data.items || []).forEach(function (x) {
              var o = document.createElement("option"); o.value = x.login; o.label = x.display_name; dl.appendChild(o);
            });
          }).catch(function () {});
      }, 150);
    });
  }
})();
