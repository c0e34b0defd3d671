// The opening hall: the state fragment is replaced whenever the server sends a new one (server-sent
// events); the countdown runs on the server's clock; the action forms post JSON to the opening API.
(function () {
  "use strict";
  var hall = document.getElementById("hall");
  if (!hall) { return; }
  var state = document.getElementById("hall-state");
  var status = document.getElementById("hall-status");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var until = Date.parse(hall.dataset.decryptionUntil);
  var skew = Date.parse(hall.dataset.serverNow) - Date.now();
  var countdown = document.getElementById("hall-countdown");

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var left = Math.max(0, Math.floor((until - (Date.now() + skew)) / 1000));
    countdown.textContent = pad(Math.floor(left / 3600)) + ":" + pad(Math.floor(left / 60) % 60) + ":" + pad(left % 60);
    countdown.dataset.secondsLeft = String(left);
  }
  tick();
  window.setInterval(tick, 1000);

  if (window.EventSource) {
    var events = new EventSource(hall.dataset.eventsUrl);
    events.addEventListener("state", function (event) {
      state.innerHTML = event.data;
      hall.dataset.updates = String(Number(hall.dataset.updates || "0") + 1);
    });
  }

  function body(form) {
    var data = {};
    new FormData(form).forEach(function (value, name) {
      data[name] = name === "bidder_at_fault" ? value === "true" : String(value).trim();
    });
    return data;
  }

  document.querySelectorAll("form.hall-action").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = body(form);
      var url = form.dataset.apiTemplate ? form.dataset.apiTemplate.replace("{id}", data.bid_id) : form.dataset.api;
      delete data.bid_id;
      delete status.dataset.code; // the previous answer's code must not stand for this one
      status.textContent = "…";
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(data)
      }).then(function (response) {
        return response.json().then(function (answer) {
          status.dataset.code = response.ok ? "ok" : answer.code;
          status.textContent = response.ok ? (hall.dataset.okText || "OK") : answer.message;
        });
      }).catch(function (error) {
        status.dataset.code = "network";
        status.textContent = String(error);
      });
    });
  });
}());
