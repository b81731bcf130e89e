// Feed pages (explore, timeline, interests, post): like, save and "show less" buttons (and their
// undos) send JSON events to
// POST /v1/events instead of posting the form, and the grid is re-rendered from the page's JSON
// twin. Tiles are built with createElement + textContent only (never as markup strings), and
// image sources follow the server's rule: /media/<relative path> or http(s).
(function () {
  "use strict";

  var dataEl = document.getElementById("page-data");
  if (!dataEl) return;
  var page = JSON.parse(dataEl.textContent);
  var FACTORS = ["recency", "popularity", "affinity", "interest"];
  // The viewer's state of each post (liked, saved, hidden), from the page, from the items of
  // the JSON feed (they carry it) and from the events this page sent; a button shows the state
  // and sends its undo.
  var states = page.states || {};
  function state(post) {
    post = String(post);
    if (!states[post]) states[post] = { liked: false, saved: false, hidden: false };
    return states[post];
  }
  function learn(item) {
    if (typeof item.liked !== "boolean") return;
    states[String(item.post_id)] = { liked: item.liked, saved: !!item.saved, hidden: !!item.hidden };
  }
  // role -> [state key, kind when off, kind when on, label when off, label when on]
  var BUTTONS = [
    ["like", "liked", "like", "unlike", "♥ Like", "♥ Liked"],
    ["save", "saved", "save", "unsave", "Save", "Saved"],
    ["hide", "hidden", "hide", "unhide", "Show less", "Undo show less"],
  ];
  var EFFECT = { like: ["liked", true], unlike: ["liked", false], save: ["saved", true],
    unsave: ["saved", false], hide: ["hidden", true], unhide: ["hidden", false] };

  // Control and bidi characters as visible escapes, as the server's display_safe does.
  var UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
  function shown(text) {
    return String(text).replace(UNSAFE, function (c) {
      var code = c.charCodeAt(0).toString(16);
      return code.length <= 2 ? "\\x" + ("0" + code).slice(-2) : "\\u" + ("000" + code).slice(-4);
    });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = shown(text);
    return e;
  }

  function num(x, digits) {
    if (typeof x !== "number" || !isFinite(x)) return "–";
    return String(Number(x.toPrecision(digits || 3)));
  }

  function truncate(text, n) {
    text = String(text || "");
    return text.length <= n ? text : text.slice(0, n - 3) + "...";
  }

  // Same rule as discovery.web.render.media_url.
  function mediaSrc(image) {
    if (typeof image !== "string" || !image) return null;
    if (/[\x00-\x20"'<>`\\]/.test(image)) return null;
    if (/^https?:\/\//i.test(image)) return image;
    var parts = image.split("/");
    if (parts[0].indexOf(":") >= 0 || image.charAt(0) === "/") return null;
    if (parts.indexOf("..") >= 0 || /[?#]/.test(image)) return null;
    return "/media/" + parts.map(encodeURIComponent).join("/");
  }

  function q(s) { return encodeURIComponent(String(s)); }

  function actions(item) {
    var box = el("div", "actions");
    var st = state(item.post_id);
    BUTTONS.forEach(function (a) {
      var on = !!st[a[1]];
      var kind = on ? a[3] : a[2];
      var form = el("form", "act-form");
      form.method = "post";
      form.action = "/u/" + q(page.user) + "/events";
      [["kind", kind], ["post", item.post_id], ["next", location.pathname + location.search]].forEach(function (f) {
        var input = el("input");
        input.type = "hidden";
        input.name = f[0];
        input.value = String(f[1]);
        form.appendChild(input);
      });
      var b = el("button", "act " + a[0], on ? a[5] : a[4]);
      b.type = "submit";
      b.dataset.kind = kind;
      b.dataset.post = String(item.post_id);
      b.setAttribute("aria-pressed", on ? "true" : "false");
      form.appendChild(b);
      box.appendChild(form);
    });
    return box;
  }

  // Show a post button's new state after its event was accepted.
  function flip(form, button, post, kind) {
    var effect = EFFECT[kind];
    if (!effect) return;
    state(post)[effect[0]] = effect[1];
    BUTTONS.forEach(function (a) {
      if (a[1] !== effect[0]) return;
      var next = effect[1] ? a[3] : a[2];
      button.dataset.kind = next;
      button.textContent = effect[1] ? a[5] : a[4];
      button.setAttribute("aria-pressed", effect[1] ? "true" : "false");
      var input = form.querySelector('input[name="kind"]');
      if (input) input.value = next;
    });
  }

  function breakdown(item) {
    var dl = el("dl", "breakdown");
    var names = FACTORS.filter(function (n) { return n in item.factors; });
    names.forEach(function (n) {
      var w = (page.weights || {})["w_" + n] || 0;
      dl.appendChild(el("dt", null, n));
      var dd = el("dd");
      var m = el("meter");
      m.min = 0;
      m.max = 1;
      m.value = item.factors[n];
      dd.appendChild(m);
      dd.appendChild(el("span", "val", num(w, 2) + "×" + num(item.factors[n], 2)));
      dl.appendChild(dd);
    });
    if (!names.length) {
      Object.keys(item.factors).sort().forEach(function (n) {
        dl.appendChild(el("dt", null, n));
        var dd = el("dd");
        dd.appendChild(el("span"));
        dd.appendChild(el("span", "val", num(item.factors[n])));
        dl.appendChild(dd);
      });
    }
    return dl;
  }

  // The DOM of templates/_tile.html for one feed item.
  function renderTile(item, opts) {
    opts = opts || {};
    var tile = el("article", "tile");
    tile.tabIndex = 0;
    tile.dataset.post = String(item.post_id);
    var link = el("a", "tile-link");
    link.href = "/p/" + q(item.post_id) + (page.user ? "?u=" + q(page.user) : "");
    var src = mediaSrc(item.image);
    if (src) {
      var img = el("img");
      img.src = src;
      img.alt = shown(truncate(item.caption, 120));
      img.loading = "lazy";
      link.appendChild(img);
    } else {
      link.appendChild(el("span", "noimg", truncate(item.caption, 120)));
    }
    tile.appendChild(link);
    if (opts.ranked) tile.appendChild(el("span", "rank", item.rank));
    if (item.media_type !== "photo") tile.appendChild(el("span", "badge", item.media_type));
    var info = el("div", "tile-info");
    var top = el("div");
    var stats = el("p", "tile-stats");
    stats.appendChild(el("span", null, "♥ " + item.like_count));
    stats.appendChild(el("span", null, "💬 " + item.comment_count));
    top.appendChild(stats);
    var author = el("p", "tile-author");
    if (item.author) {
      var a = el("a", null, "@" + item.author);
      a.href = "/u/" + q(item.author) + "/network";
      author.appendChild(a);
      if (item.following === true) author.appendChild(document.createTextNode(" · Following"));
    }
    top.appendChild(author);
    top.appendChild(el("p", "tile-reason", item.reason));
    top.appendChild(breakdown(item));
    var demote = item.factors.demote;
    top.appendChild(el("p", "tile-score", "score " + num(item.score) +
      (typeof demote === "number" && demote < 1 ? " · demoted ×" + num(demote, 2) : "")));
    info.appendChild(top);
    if (page.user) info.appendChild(actions(item));
    tile.appendChild(info);
    return tile;
  }

  function render(grid, items, opts) {
    var frag = document.createDocumentFragment();
    items.forEach(function (item) {
      learn(item);
      frag.appendChild(renderTile(item, opts));
    });
    while (grid.firstChild) grid.removeChild(grid.firstChild);
    grid.appendChild(frag);
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
  }

  // Re-render the grid from the feed's JSON twin (same limit and cursor as the page).
  function refresh(extra) {
    var grid = document.getElementById("grid");
    if (!grid || !page.feed) return Promise.resolve(null);
    var url = page.feed + (page.cursor ? "&cursor=" + q(page.cursor) : "") + (extra || "");
    return getJSON(url).then(function (feed) {
      render(grid, feed.items, { ranked: grid.classList.contains("preview") });
      return feed;
    });
  }

  function eventId() {
    if (window.crypto && crypto.randomUUID) return "web-" + crypto.randomUUID();
    return "web-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function sendEvent(kind, post) {
    if (!/^\d+$/.test(post)) return Promise.reject(new Error("bad post id"));
    // the id is spliced in as digits so that 64-bit post ids keep every digit
    var body = '{"id":' + JSON.stringify(eventId()) + ',"user":' + JSON.stringify(page.user) +
      ',"kind":' + JSON.stringify(kind) + ',"post":' + post + "}";
    return fetch("/v1/events", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: body,
    }).then(function (r) {
      if (!r.ok) {
        return r.json().then(function (j) { throw new Error(j.detail || "HTTP " + r.status); });
      }
      return r.json();
    });
  }

  function flash(holder, message) {
    var p = el("p", "tile-reason", message);
    holder.appendChild(p);
    setTimeout(function () { if (p.parentNode) p.parentNode.removeChild(p); }, 4000);
  }

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.classList || !form.classList.contains("act-form")) return;
    var button = form.querySelector("button[data-kind]");
    if (!button) return;
    evt.preventDefault();
    var kind = button.dataset.kind;
    var post = button.dataset.post;
    var holder = form.closest(".tile, .card, .post") || form.parentNode;
    if (!post || !EFFECT[kind]) return;
    button.disabled = true;
    sendEvent(kind, post).then(function () {
      flip(form, button, post, kind);
      if (kind !== "hide") return;
      if (holder.classList.contains("tile") && document.getElementById("grid") && page.feed) {
        holder.classList.add("hidden");
        return refresh();
      }
      if (holder.classList.contains("tile") || holder.classList.contains("card")) {
        holder.classList.add("hidden");
      }
    }).catch(function (err) {
      flash(holder, "Could not send: " + err.message);
    }).then(function () {
      button.disabled = false;
    });
  });

  // Touch: the first tap on a tile opens its overlay, the second follows the link.
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest("a.tile-link");
    if (!link || !window.matchMedia("(hover: none)").matches) return;
    var tile = link.parentNode;
    if (!tile.classList.contains("open")) {
      evt.preventDefault();
      document.querySelectorAll(".tile.open").forEach(function (t) { t.classList.remove("open"); });
      tile.classList.add("open");
    }
  });

  window.discoveryFeed = { page: page, render: render, refresh: refresh, getJSON: getJSON, num: num };
})();
