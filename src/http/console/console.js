// The console's only script: the Deliveries list follows the ledger without a reload,
// and a discard asks first. Every page works without it.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  var table = document.getElementById("deliveries");
  if (!table) {
    return;
  }
  var url = table.getAttribute("data-live");
  var body = table.tBodies[0];
  var status = document.getElementById("live-status");
  var every = 2000;

  function keys(root) {
    return Array.prototype.map.call(root.querySelectorAll("tr[data-key]"), function (row) {
      return row.getAttribute("data-key");
    });
  }

  function refresh() {
    if (document.hidden) {
      window.setTimeout(refresh, every);
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (answer) {
        if (answer.status === 401) {
          window.location.assign("/console/sign-in");
          return null;
        }
        if (!answer.ok) {
          throw new Error("the server answered " + answer.status);
        }
        return answer.text();
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        var known = new Set(keys(body));
        var fresh = document.createElement("template");
        fresh.innerHTML = html;
        var added = 0;
        fresh.content.querySelectorAll("tr[data-key]").forEach(function (row) {
          if (!known.has(row.getAttribute("data-key"))) {
            row.classList.add("fresh");
            added += 1;
          }
        });
        body.replaceChildren(fresh.content);
        if (added > 0) {
          status.textContent = added + (added === 1 ? " new delivery." : " new deliveries.");
        }
        window.setTimeout(refresh, every);
      })
      .catch(function (error) {
        status.textContent = "Live updates paused (" + error.message + "); retrying.";
        window.setTimeout(refresh, every * 2);
      });
  }

  window.setTimeout(refresh, every);
})();
