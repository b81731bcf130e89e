// "Tune my feed": moving a slider re-ranks the preview grid live (GET the feed with w_* overrides,
// nothing saved); "Save" PUTs the weights to /v1/users/{handle}/settings, which every later feed
// of this user (pages and API) uses. Without JavaScript the form does the same with page loads.
(function () {
  "use strict";

  var feed = window.discoveryFeed;
  var form = document.getElementById("tune-form");
  if (!feed || !form) return;
  var page = feed.page;
  var status = document.getElementById("tune-status");
  var inputs = Array.prototype.slice.call(form.querySelectorAll("input[type=range]"));
  var timer = null;
  var seq = 0;

  function weights() {
    var w = {};
    inputs.forEach(function (i) { w[i.name] = Number(i.value); });
    return w;
  }

  function query(w) {
    return Object.keys(w).map(function (k) { return "&" + k + "=" + encodeURIComponent(w[k]); }).join("");
  }

  function say(text) { status.textContent = text; }

  function preview() {
    var w = weights();
    var mine = ++seq;
    page.weights = w;
    say("Re-ranking…");
    feed.refresh(query(w)).then(function () {
      if (mine !== seq) return;
      say("Preview: not saved yet.");
      var url = location.pathname + "?" + query(w).slice(1);
      history.replaceState(null, "", url);
      document.body.dataset.previewed = String(mine);
    }).catch(function (err) { say("Preview failed: " + err.message); });
  }

  inputs.forEach(function (input) {
    var out = document.getElementById(input.id + "-out");
    input.addEventListener("input", function () {
      if (out) out.textContent = feed.num(Number(input.value), 2);
      clearTimeout(timer);
      timer = setTimeout(preview, 150);
    });
  });

  form.addEventListener("submit", function (evt) {
    evt.preventDefault();
    var saving = evt.submitter && evt.submitter.id === "save-btn";
    if (!saving) {
      preview();
      return;
    }
    say("Saving…");
    fetch(page.settings, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(weights()),
    }).then(function (r) {
      if (!r.ok) return r.json().then(function (j) { throw new Error(j.detail || "HTTP " + r.status); });
      return r.json();
    }).then(function (saved) {
      page.weights = saved.weights;
      say("Saved: every feed of @" + saved.user + " now uses these weights.");
    }).catch(function (err) { say("Could not save: " + err.message); });
  });
})();
