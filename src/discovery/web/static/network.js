// The interactive network view: draws the JSON in #network-data with cytoscape (served locally
// from node_modules) and shows an account's posts when its node is clicked. Used by the page
// /u/{handle}/network and inlined into the file `discovery graph --out ego.html` writes.
// All text goes through textContent; image sources are checked before use.
(function () {
  "use strict";

  var dataEl = document.getElementById("network-data");
  var box = document.getElementById("network-canvas");
  if (!dataEl || !box || typeof window.cytoscape !== "function") {
    return;
  }
  var view = JSON.parse(dataEl.textContent);
  var SCALE = view.scale || 200;

  function safeSrc(src) {
    if (typeof src !== "string") return null;
    if (/^\/media\/[^\\]*$/.test(src) && src.indexOf("..") < 0) return src;
    if (/^https?:\/\//i.test(src)) return src;
    if (/^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+\/=]+$/.test(src)) return src;
    return null;
  }

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

  var elements = [];
  view.nodes.forEach(function (n) {
    elements.push({
      group: "nodes",
      data: {
        id: String(n.id),
        label: "@" + shown(n.handle),
        size: n.size,
        color: n.color,
        followed: n.followed ? 1 : 0,
        centre: n.hop === 0 ? 1 : 0,
        brand: n.kind === "brand" ? 1 : 0,
        labelled: n.labelled ? 1 : 0,
        // where the server placed the label (web/labels.py: overlapping no label or node)
        lx: n.label_dx || 0,
        ly: n.label_dy || 0,
      },
      position: { x: n.x * SCALE, y: n.y * SCALE },
    });
  });
  view.edges.forEach(function (e, i) {
    elements.push({
      group: "edges",
      data: { id: "e" + i, source: String(e.source), target: String(e.target) },
    });
  });

  // show the canvas before drawing, so that cytoscape measures its real size
  box.classList.add("live");
  var fallback = document.getElementById("network-fallback");
  if (fallback) fallback.hidden = true;

  var cy = window.cytoscape({
    container: box,
    elements: elements,
    layout: { name: "preset", fit: false },
    minZoom: 0.2,
    maxZoom: 4,
    style: [
      {
        selector: "node",
        style: {
          width: "data(size)",
          height: "data(size)",
          "background-color": "data(color)",
          "background-opacity": 0.55,
          "border-width": 1.5,
          "border-style": "dashed",
          "border-color": "#555",
          label: "data(label)",
          // only the named accounts (and a hovered or selected node) show a handle, at any zoom:
          // labels grow with the drawing, so the unnamed ones overlap however far one zooms in
          "min-zoomed-font-size": 100000,
          "font-family": "system-ui, sans-serif",
          "font-size": 18,
          color: "#222",
          "text-valign": "center",
          "text-halign": "center",
          "text-margin-x": "data(lx)",
          "text-margin-y": "data(ly)",
          "text-outline-color": "#fff",
          "text-outline-width": 3,
        },
      },
      { selector: "node[followed = 1]", style: { "background-opacity": 1, "border-style": "solid", "border-width": 3, "border-color": "#111" } },
      { selector: "node[brand = 1]", style: { shape: "round-rectangle" } },
      { selector: "node[labelled = 1]", style: { "min-zoomed-font-size": 0, "z-index": 5 } },
      { selector: "node[centre = 1]", style: { "background-opacity": 1, "border-style": "solid", "border-width": 4, "border-color": "#fff", "font-weight": "bold", "font-size": 26 } },
      { selector: "node:selected, node.hover", style: { "min-zoomed-font-size": 0, "border-color": "#e1306c", "border-width": 4, "z-index": 10 } },
      { selector: "edge", style: { width: 0.7, "line-color": "#c9ccd3", opacity: 0.45, "curve-style": "haystack" } },
      { selector: "edge.near", style: { "line-color": "#e1306c", opacity: 0.9, width: 1.5 } },
    ],
  });
  window.discoveryNetwork = cy;

  // fit the nodes and the labels shown, not the (hidden) labels of the others
  (function fit() {
    var pad = 24;
    var bb = cy.nodes().boundingBox({ includeLabels: false });
    var named = cy.nodes("[labelled = 1]").boundingBox({ includeNodes: false, includeLabels: true });
    if (named.w > 0) {
      bb = { x1: Math.min(bb.x1, named.x1), y1: Math.min(bb.y1, named.y1),
        x2: Math.max(bb.x2, named.x2), y2: Math.max(bb.y2, named.y2) };
      bb.w = bb.x2 - bb.x1;
      bb.h = bb.y2 - bb.y1;
    }
    var z = Math.min((cy.width() - 2 * pad) / bb.w, (cy.height() - 2 * pad) / bb.h);
    z = Math.max(cy.minZoom(), Math.min(z, 1.5));
    cy.zoom(z);
    cy.pan({ x: (cy.width() - z * (bb.x1 + bb.x2)) / 2, y: (cy.height() - z * (bb.y1 + bb.y2)) / 2 });
  })();

  var panel = document.getElementById("network-panel");
  var byId = {};
  view.nodes.forEach(function (n) { byId[String(n.id)] = n; });

  function show(n) {
    if (!panel) return;
    while (panel.firstChild) panel.removeChild(panel.firstChild);
    panel.appendChild(el("h2", "panel-handle", "@" + n.handle));
    var facts = [
      n.hop === 0 ? "centre" : n.hop + (n.hop === 1 ? " hop" : " hops") + " away",
      n.hop === 0 ? null : n.followed ? "followed" : "not followed",
      n.kind,
      n.topic ? "#" + n.topic : null,
      "PPR " + n.ppr.toPrecision(3),
    ];
    var meta = el("p", "panel-meta");
    facts.filter(Boolean).forEach(function (f, i) {
      if (i) meta.appendChild(document.createTextNode(" · "));
      meta.appendChild(el("span", null, f));
    });
    panel.appendChild(meta);
    if (view.links && n.hop > 0) {
      var a = el("a", "panel-link", "Network of @" + n.handle);
      a.href = "/u/" + encodeURIComponent(n.handle) + "/network";
      panel.appendChild(a);
      var prof = el("a", "panel-link", "Profile");
      prof.href = "/u/" + encodeURIComponent(n.handle) + "/profile?u=" + encodeURIComponent(view.center);
      panel.appendChild(document.createTextNode(" · "));
      panel.appendChild(prof);
      // Follow / Following: a plain form post to the centre's events, back to this page
      var kind = n.followed ? "unfollow" : "follow";
      var form = el("form", "act-form account-form");
      form.method = "post";
      form.action = "/u/" + encodeURIComponent(view.center) + "/events";
      [["kind", kind], ["target", n.handle], ["next", location.pathname + location.search]].forEach(function (f) {
        var input = el("input");
        input.type = "hidden";
        input.name = f[0];
        input.value = f[1];
        form.appendChild(input);
      });
      var b = el("button", "act follow" + (n.followed ? " on" : ""), n.followed ? "Following" : "Follow");
      b.type = "submit";
      b.dataset.kind = kind;
      b.setAttribute("aria-pressed", n.followed ? "true" : "false");
      form.appendChild(b);
      panel.appendChild(form);
    }
    var grid = el("div", "panel-posts");
    if (!n.posts.length) panel.appendChild(el("p", "muted", "No posts."));
    n.posts.forEach(function (p) {
      var card = el(view.links ? "a" : "div", "panel-post");
      if (view.links) card.href = "/p/" + encodeURIComponent(p.post_id);
      var src = safeSrc(p.image);
      if (src) {
        var img = el("img");
        img.src = src;
        img.alt = shown(p.caption);
        img.loading = "lazy";
        card.appendChild(img);
      } else {
        card.appendChild(el("div", "noimg", p.caption));
      }
      card.appendChild(el("span", "panel-counts", "♥ " + p.like_count + " · 💬 " + p.comment_count));
      grid.appendChild(card);
    });
    panel.appendChild(grid);
    panel.hidden = false;
  }

  cy.on("tap", "node", function (evt) {
    cy.edges().removeClass("near");
    evt.target.connectedEdges().addClass("near");
    show(byId[evt.target.id()]);
  });
  cy.on("mouseover", "node", function (evt) { evt.target.addClass("hover"); });
  cy.on("mouseout", "node", function (evt) { evt.target.removeClass("hover"); });
  var centre = view.nodes.filter(function (n) { return n.hop === 0; })[0];
  if (centre) show(centre);
})();
