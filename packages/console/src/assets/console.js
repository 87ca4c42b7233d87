/* The console's only script: served from /static/, no inline code (the CSP forbids it). */
/* global document, window, EventSource */
(function () {
  'use strict';

  // A button that stays disabled until a word is typed exactly (Promote: `confirm`).
  document.querySelectorAll('[data-requires-word]').forEach(function (button) {
    var input = document.getElementById(button.getAttribute('data-word-input'));
    var word = button.getAttribute('data-requires-word');
    function update() {
      button.disabled = !input || input.value !== word;
    }
    if (input) input.addEventListener('input', update);
    update();
  });

  // Destructive actions ask first; a submitted form cannot be sent twice.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    var submitter = event.submitter || form.querySelector('[type=submit]');
    var question =
      (submitter && submitter.getAttribute('data-confirm')) || form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (submitter) {
      window.setTimeout(function () {
        submitter.disabled = true;
      }, 0);
    }
  });

  // Live updates: the server sends ready-escaped HTML fragments over SSE.
  var view = document.body.getAttribute('data-live-view');
  var status = document.getElementById('live-status');
  function setStatus(text, state) {
    if (!status) return;
    status.textContent = text;
    status.setAttribute('data-state', state);
  }
  if (view && window.EventSource) {
    var url = '/events?view=' + encodeURIComponent(view);
    var broker = document.body.getAttribute('data-live-broker');
    if (broker) url += '&id=' + encodeURIComponent(broker);
    var source = new EventSource(url);
    source.addEventListener('open', function () {
      setStatus('live', 'ok');
    });
    source.addEventListener('error', function () {
      setStatus('reconnecting…', 'bad');
    });
    source.addEventListener('fragment', function (event) {
      var data = JSON.parse(event.data);
      var target = document.getElementById(data.target);
      if (target) target.innerHTML = data.html;
      setStatus('live', 'ok');
    });
    source.addEventListener('problem', function (event) {
      var data = JSON.parse(event.data);
      setStatus(data.message, 'bad');
    });
    source.addEventListener('recovered', function () {
      setStatus('live', 'ok');
    });
    source.addEventListener('signed-out', function () {
      source.close();
      window.location.href = '/login';
    });
  }
})();
