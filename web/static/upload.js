// The upload page's live file states: polls /api/uploads/{id} and updates the table (a static file, so CSP forbids inline script).
(function () {
  "use strict";
  var table = document.getElementById("upload-files");
  if (!table || table.dataset.done === "true" || !window.fetch) return;
  var uploadId = table.dataset.upload;
  var progress = document.getElementById("upload-progress");
  var token = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var FINISHED = ["indexed", "unchanged", "failed"];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }
  function hidden(text) { return el("span", {"class": "visually-hidden"}, text); }
  function link(href, text, name) { var a = el("a", {href: href}, text); a.appendChild(hidden(" from " + name)); return a; }

  function detail(f) {
    var cell = el("td", {"class": "file-detail"});
    if (f.status === "failed") {
      cell.appendChild(el("span", {"class": "failure-reason"}, f.reason || "The file could not be ingested."));
      if (f.attempts > 1) cell.appendChild(el("span", {"class": "attempts"}, " (tried " + f.attempts + " times)"));
      var form = el("form", {method: "post", action: "/curate/uploads/files/" + f.id + "/retry", "class": "inline-form"});
      form.appendChild(el("input", {type: "hidden", name: "csrf_token", value: token}));
      var button = el("button", {type: "submit", "class": "small secondary"}, "Try again");
      button.appendChild(hidden(" " + f.filename));
      form.appendChild(button);
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(form);
    } else if ((f.status === "indexed" || f.status === "unchanged") && f.document_id) {
      if (f.status === "unchanged") cell.appendChild(el("span", {}, "The same file was ingested before. "));
      cell.appendChild(el("span", {}, f.interventions ? f.interventions + " intervention" + (f.interventions === 1 ? "" : "s") + " found. " : "No interventions found. "));
      cell.appendChild(link("/documents/" + f.document_id, "Read the draft document", f.filename));
      cell.appendChild(document.createTextNode(" · "));
      cell.appendChild(link("/curate/queue?document=" + f.document_id, "Review its interventions", f.filename));
    } else {
      cell.textContent = f.status === "queued" ? "Waiting to start." : "Working on it.";
    }
    return cell;
  }

  function update(data) {
    var finished = 0, news = [];
    data.files.forEach(function (f) {
      if (FINISHED.indexOf(f.status) >= 0) finished += 1;
      var row = document.getElementById("file-" + f.id);
      if (!row || row.dataset.status === f.status) return;
      row.dataset.status = f.status;
      var state = row.querySelector(".file-state");
      state.replaceChildren(el("span", {"class": "status status-" + f.status}, f.status));
      row.replaceChild(detail(f), row.querySelector(".file-detail"));
      news.push(f.filename + ": " + f.status + "." + (f.status === "failed" && f.reason ? " " + f.reason : ""));
    });
    var total = data.files.length;
    var line = finished + " of " + total + " file" + (total === 1 ? "" : "s") + " finished.";
    if (news.length) progress.textContent = line + " " + news.join(" ");
    if (data.done) {
      table.dataset.done = "true";
      document.getElementById("refresh").hidden = true;
    }
  }

  function poll() {
    fetch("/api/uploads/" + uploadId, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) {
        if (r.status === 401 || r.status === 403 || r.status === 404) {
          progress.textContent = "The latest state could not be fetched (you may have been signed out). Refresh the page.";
          return null;
        }
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (data) { if (!data) return; update(data); if (!data.done) setTimeout(poll, 1000); })
      .catch(function () { setTimeout(poll, 5000); });  // a blip in the network: try again a little later
  }
  setTimeout(poll, 1000);
})();
