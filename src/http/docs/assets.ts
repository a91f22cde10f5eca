// The API reference page at /docs: a small page of our own, served by the gateway itself
// (no CDN), that reads /openapi.json and lets the reader call any route from the browser.

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Aegis Edge API reference</title>
<link rel="stylesheet" href="/docs/app.css">
</head>
<body>
<header>
  <h1>Aegis Edge API</h1>
  <p id="info">Loading <a href="/openapi.json">/openapi.json</a>…</p>
  <label>Bearer token <input id="token" type="password" autocomplete="off" placeholder="ADMIN_TOKEN or ak_…"></label>
</header>
<nav id="toc"></nav>
<main id="ops"></main>
<script src="/docs/app.js" defer></script>
</body>
</html>
`;

export const DOCS_CSS = `
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1b1f24; display: grid; grid-template-columns: 260px 1fr; }
header { grid-column: 1 / 3; padding: 1rem 1.5rem; background: #0f2a44; color: #fff; }
header a { color: #9cd1ff; }
header input { margin-left: .5rem; width: 24rem; max-width: 60vw; }
nav { padding: 1rem; border-right: 1px solid #dde3ea; font-size: 14px; }
nav h3 { margin: 1rem 0 .25rem; font-size: 13px; text-transform: uppercase; color: #57606a; }
nav a { display: block; color: #1b1f24; text-decoration: none; padding: 2px 0; }
main { padding: 1rem 1.5rem; max-width: 960px; }
section.op { border: 1px solid #dde3ea; border-radius: 6px; margin: 1rem 0; padding: .75rem 1rem; }
.method { display: inline-block; min-width: 4.5rem; font-weight: 700; text-transform: uppercase; }
.get { color: #0969da; } .post { color: #1a7f37; } .put, .patch { color: #9a6700; } .delete { color: #cf222e; }
code, pre, textarea { font: 13px/1.4 ui-monospace, monospace; }
pre { background: #f6f8fa; padding: .5rem; overflow: auto; max-height: 24rem; }
details { margin: .5rem 0; }
textarea { width: 100%; min-height: 6rem; }
.param { display: block; margin: .25rem 0; }
.param input { margin-left: .5rem; }
.status { font-weight: 700; }
`;

export const DOCS_JS = `"use strict";
(function () {
  var ops = document.getElementById("ops");
  var toc = document.getElementById("toc");
  var info = document.getElementById("info");
  var tokenInput = document.getElementById("token");
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { e.append(c); });
    return e;
  }
  function resolve(spec, schema) {
    if (schema && schema.$ref) return spec.components.schemas[schema.$ref.split("/").pop()] || schema;
    return schema;
  }
  function pretty(spec, schema, depth) {
    schema = resolve(spec, schema);
    if (!schema || depth > 4) return schema;
    if (schema.type === "object" && schema.properties) {
      var out = {};
      Object.keys(schema.properties).forEach(function (k) { out[k] = pretty(spec, schema.properties[k], depth + 1); });
      return out;
    }
    if (schema.type === "array") return [pretty(spec, schema.items, depth + 1)];
    return schema;
  }
  function example(spec, schema, depth) {
    schema = resolve(spec, schema);
    if (!schema || depth > 4) return null;
    if (schema.example !== undefined) return schema.example;
    if (schema.type === "object") {
      var out = {};
      Object.keys(schema.properties || {}).forEach(function (k) {
        if ((schema.required || []).indexOf(k) >= 0) out[k] = example(spec, schema.properties[k], depth + 1);
      });
      return out;
    }
    if (schema.type === "array") return [];
    if (schema.type === "integer" || schema.type === "number") return schema.minimum || 0;
    if (schema.type === "boolean") return false;
    if (schema.enum) return schema.enum[0];
    return "";
  }
  function render(spec) {
    info.textContent = (spec.info.description || "") + " Version " + spec.info.version + ".";
    var byTag = {};
    Object.keys(spec.paths).forEach(function (path) {
      Object.keys(spec.paths[path]).forEach(function (method) {
        var op = spec.paths[path][method];
        var tag = (op.tags && op.tags[0]) || "other";
        (byTag[tag] = byTag[tag] || []).push({ path: path, method: method, op: op });
      });
    });
    Object.keys(byTag).sort().forEach(function (tag) {
      toc.append(el("h3", {}, [tag]));
      byTag[tag].forEach(function (o, i) {
        var id = tag.replace(/\\W/g, "-") + "-" + i;
        toc.append(el("a", { href: "#" + id }, [o.method.toUpperCase() + " " + o.path]));
        ops.append(operation(spec, o, id));
      });
    });
  }
  function operation(spec, o, id) {
    var op = o.op;
    var section = el("section", { class: "op", id: id, "data-path": o.path, "data-method": o.method });
    section.append(el("h2", {}, [el("span", { class: "method " + o.method }, [o.method]), el("code", {}, [o.path])]));
    if (op.summary) section.append(el("p", {}, [op.summary]));
    if (op.description) section.append(el("p", {}, [op.description]));
    var inputs = {};
    (op.parameters || []).forEach(function (p) {
      var input = el("input", { name: p.name, "data-in": p.in, placeholder: p.schema && p.schema.type || "" });
      inputs[p.in + ":" + p.name] = input;
      section.append(el("label", { class: "param" }, [p.in + " " + p.name + (p.required ? " *" : ""), input]));
    });
    var body = null;
    var content = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    if (content) {
      section.append(el("details", {}, [el("summary", {}, ["Request body"]), el("pre", {}, [JSON.stringify(pretty(spec, content.schema, 0), null, 2)])]));
      body = el("textarea", { name: "body" });
      body.value = JSON.stringify(example(spec, content.schema, 0), null, 2);
      section.append(body);
    }
    Object.keys(op.responses || {}).forEach(function (status) {
      var r = op.responses[status];
      var c = r.content && (r.content["application/json"] || r.content["application/problem+json"]);
      section.append(el("details", {}, [el("summary", {}, [status + " " + (r.description || "")]), el("pre", {}, [c ? JSON.stringify(pretty(spec, c.schema, 0), null, 2) : "(no body)"])]));
    });
    var out = el("pre", { class: "result" });
    var button = el("button", { type: "button" }, ["Send"]);
    button.addEventListener("click", function () { send(o, inputs, body, out); });
    section.append(button, out);
    return section;
  }
  function send(o, inputs, body, out) {
    var path = o.path.replace(/\\{(\\w+)\\}/g, function (_, name) {
      var i = inputs["path:" + name];
      return encodeURIComponent(i ? i.value : "");
    });
    var query = new URLSearchParams();
    Object.keys(inputs).forEach(function (k) {
      if (k.indexOf("query:") === 0 && inputs[k].value) query.set(k.slice(6), inputs[k].value);
    });
    var headers = { accept: "application/json" };
    if (tokenInput.value) headers.authorization = "Bearer " + tokenInput.value;
    var init = { method: o.method.toUpperCase(), headers: headers };
    if (body) { headers["content-type"] = "application/json"; init.body = body.value; }
    out.textContent = "…";
    fetch(path + (query.toString() ? "?" + query : ""), init).then(function (res) {
      return res.text().then(function (text) {
        var shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
        out.textContent = res.status + " " + res.statusText + "\\n" + shown;
      });
    }, function (err) { out.textContent = String(err); });
  }
  fetch("/openapi.json").then(function (r) { return r.json(); }).then(render, function (err) {
    info.textContent = "Could not load /openapi.json: " + err;
  });
})();
`;
