// Voice notes in the record form and the "Not today, because…" check-in form: record
// (MediaRecorder), listen back, record again, remove.
//
// Three places record: a voice field ([data-voice-field]), the check-in's voice note (the
// same kind of field, sent with the check-in by js/client.js), and "speak instead of typing" on
// short and long text fields, which fills the text field's companion answer "<key>:voice"
// ([data-voice-companion]); the server accepts a spoken answer for a required text field.
// A recording gets its own id on the phone and is kept in IndexedDB with the outbox, so it
// waits offline like the entry and is uploaded just before it. The hidden input holds the
// id; data-recorded-id marks ids recorded here and not yet uploaded.
(function () {
  "use strict";

  var Outbox = window.BetweenOutbox;
  var TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];
  var BITS_PER_SECOND = 32000;  // speech stays clear; two minutes stay under 0.5 MB

  function strings() {
    var node = document.querySelector("[data-client-strings]");
    return node ? node.dataset : {};
  }

  function canRecord() {
    return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder &&
      Outbox && Outbox.supported);
  }

  function pickType() {
    for (var i = 0; i < TYPES.length; i++) {
      if (MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(TYPES[i])) { return TYPES[i]; }
    }
    return "";
  }

  function newId() {
    return window.crypto.randomUUID ? window.crypto.randomUUID() : String(Date.now()) + Math.random();
  }

  function clock(seconds) {
    var whole = Math.max(0, Math.floor(seconds));
    return Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
  }

  function button(text, className, hidden) {
    var node = document.createElement("button");
    node.type = "button";
    node.className = "button " + className;
    node.textContent = text;
    node.hidden = !!hidden;
    return node;
  }

  function Recorder(container, input, maxSeconds, label) {
    var s = strings();
    var self = this;
    this.input = input;
    // What "recorded" says next: the form around it knows (save the entry, or tap a reason).
    this.recordedText = container.dataset.voiceRecordedText || s.voiceRecorded;
    this.group = document.createElement("div");
    this.group.className = "recorder";
    this.group.setAttribute("role", "group");
    if (label) { this.group.setAttribute("aria-label", label); }
    this.record = button(s.voiceRecord, "secondary record-button");
    this.record.dataset.recRecord = "";
    this.stop = button(s.voiceStop, "stop-button", true);
    this.stop.dataset.recStop = "";
    this.time = document.createElement("span");
    this.time.className = "recorder-time";
    this.time.setAttribute("aria-hidden", "true");
    this.audio = document.createElement("audio");
    this.audio.controls = true;
    this.audio.preload = "none";
    this.audio.hidden = true;
    this.audio.dataset.recPlayback = "";
    if (label) { this.audio.setAttribute("aria-label", label); }
    this.again = button(s.voiceAgain, "secondary small", true);
    this.again.dataset.recAgain = "";
    this.remove = button(s.voiceRemove, "secondary small", true);
    this.remove.dataset.recRemove = "";
    this.status = document.createElement("p");
    this.status.className = "recorder-status";
    this.status.setAttribute("role", "status");
    this.status.dataset.recStatus = "";
    [this.record, this.stop, this.time, this.audio, this.again, this.remove, this.status].forEach(function (node) {
      self.group.appendChild(node);
    });
    container.appendChild(this.group);
    this.maxSeconds = maxSeconds;
    this.url = null;

    this.record.addEventListener("click", function () { self.start(); });
    this.again.addEventListener("click", function () { self.start(); });
    this.stop.addEventListener("click", function () { self.finish(); });
    this.remove.addEventListener("click", function () {
      self.discard();
      self.say(s.voiceRemoved);
      self.record.focus();
    });

    if (input.value) {
      // Already saved with the entry (the edit page): listen to the stored note.
      this.show("/api/v1/voice-notes/" + encodeURIComponent(input.value));
    }
  }

  Recorder.prototype.say = function (text) { this.status.textContent = text || ""; };

  Recorder.prototype.layout = function (state) {
    this.record.hidden = state !== "empty";
    this.stop.hidden = state !== "recording";
    this.time.hidden = state !== "recording";
    this.audio.hidden = state !== "recorded";
    this.again.hidden = state !== "recorded";
    this.remove.hidden = state !== "recorded";
    this.group.dataset.state = state;
  };

  Recorder.prototype.show = function (src) {
    if (this.url) { URL.revokeObjectURL(this.url); this.url = null; }
    if (src.indexOf("blob:") === 0) { this.url = src; }
    this.audio.src = src;
    this.layout("recorded");
  };

  Recorder.prototype.start = function () {
    var self = this;
    var s = strings();
    if (this.media) { return; }
    this.say("");
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var type = pickType();
      var options = { audioBitsPerSecond: BITS_PER_SECOND };
      if (type) { options.mimeType = type; }
      var media = new MediaRecorder(stream, options);
      var chunks = [];
      var started = Date.now();
      self.media = media;
      media.ondataavailable = function (event) { if (event.data && event.data.size) { chunks.push(event.data); } };
      media.onstop = function () {
        stream.getTracks().forEach(function (track) { track.stop(); });
        clearInterval(self.ticker);
        clearTimeout(self.limit);
        self.media = null;
        var seconds = Math.round((Date.now() - started) / 100) / 10;
        var blob = new Blob(chunks, { type: media.mimeType || type || "audio/webm" });
        self.keep(blob, seconds);
      };
      media.start(1000);
      self.layout("recording");
      self.time.textContent = clock(0) + " / " + clock(self.maxSeconds);
      self.ticker = setInterval(function () {
        self.time.textContent = clock((Date.now() - started) / 1000) + " / " + clock(self.maxSeconds);
      }, 1000);
      self.limit = setTimeout(function () {
        self.finish();
        self.say(s.voiceLimit);
      }, self.maxSeconds * 1000);
      self.say(s.voiceRecording);
      self.stop.focus();
    }, function () {
      self.say(s.voiceDenied);
    });
  };

  Recorder.prototype.finish = function () {
    if (this.media && this.media.state !== "inactive") { this.media.stop(); }
  };

  Recorder.prototype.keep = function (blob, seconds) {
    var self = this;
    var s = strings();
    var previous = this.input.dataset.recordedId;
    var id = newId();
    if (!blob.size) {
      this.layout(this.input.value ? "recorded" : "empty");
      this.say(s.voiceEmpty);
      return;
    }
    Outbox.putVoice({ id: id, blob: blob, type: blob.type, seconds: seconds }).then(function () {
      if (previous) { Outbox.dropVoice(previous); }
      self.input.value = id;
      self.input.dataset.recordedId = id;
      self.show(URL.createObjectURL(blob));
      self.say(self.recordedText);
      self.again.focus();
    }, function () {
      self.layout("empty");
      self.say(s.voiceNotKept);
    });
  };

  Recorder.prototype.discard = function () {
    var local = this.input.dataset.recordedId;
    if (local && local === this.input.value) { Outbox.dropVoice(local); }
    this.clear();
  };

  // After the entry went to the outbox: the recording belongs to it now, not to the form.
  Recorder.prototype.clear = function () {
    this.finish();
    this.input.value = "";
    delete this.input.dataset.recordedId;
    if (this.url) { URL.revokeObjectURL(this.url); this.url = null; }
    this.audio.removeAttribute("src");
    this.layout("empty");
  };

  function labelFor(container) {
    var field = container.closest(".field");
    var label = field && field.querySelector("label, legend");
    return label ? label.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function setUp(form) {
    var s = strings();
    var recorders = [];
    form.querySelectorAll("[data-voice-field]").forEach(function (container) {
      var input = container.querySelector("[data-voice-input]");
      if (!input) { return; }
      var fallback = container.querySelector("[data-voice-fallback]");
      if (!canRecord()) {
        if (input.value) { new Recorder(container, input, 0, labelFor(container)).record.hidden = true; }
        return;
      }
      if (fallback) { fallback.hidden = true; }
      var max = parseInt(container.dataset.maxSeconds || "120", 10);
      var recorder = new Recorder(container, input, max, labelFor(container));
      recorders.push(recorder);
      recorder.layout(input.value ? "recorded" : "empty");
    });
    form.querySelectorAll("[data-voice-companion]").forEach(function (container) {
      var input = container.querySelector("[data-voice-input]");
      if (!input || (!canRecord() && !input.value)) { return; }
      var max = Math.min(parseInt(s.voiceMaxSeconds || "300", 10), 300);
      var toggle = button(s.voiceSpeak, "secondary small speak-button");
      toggle.dataset.recSpeak = "";
      toggle.setAttribute("aria-expanded", input.value ? "true" : "false");
      container.parentNode.insertBefore(toggle, container);
      var recorder = new Recorder(container, input, max, labelFor(container) + " · " + s.voiceSpeak);
      recorders.push(recorder);
      recorder.layout(input.value ? "recorded" : "empty");
      container.hidden = !input.value;
      toggle.hidden = !!input.value || !canRecord();
      toggle.addEventListener("click", function () {
        container.hidden = false;
        toggle.hidden = true;
        toggle.setAttribute("aria-expanded", "true");
        recorder.start();
      });
      recorder.resetCompanion = function () {
        container.hidden = true;
        toggle.hidden = false;
        toggle.setAttribute("aria-expanded", "false");
      };
    });
    form.betweenRecorders = recorders;
  }

  // The entry went to the outbox: start the next one with empty recorders.
  document.addEventListener("between:form-reset", function (event) {
    var form = event.detail && event.detail.form;
    (form && form.betweenRecorders || []).forEach(function (recorder) {
      recorder.clear();
      if (recorder.resetCompanion) { recorder.resetCompanion(); }
    });
  });

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (error) {
      return "";
    }
  }

  // Editing a saved entry is sent the classic way; a new recording has to be uploaded first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-record-form") ||
        form.hasAttribute("data-new-entry") || !Outbox) {
      return;
    }
    var pending = Array.prototype.slice.call(form.querySelectorAll("[data-voice-input]")).filter(function (input) {
      return input.value && input.dataset.recordedId === input.value;
    });
    if (!pending.length) { return; }
    event.preventDefault();
    var s = strings();
    Outbox.setToken(csrfToken()).then(function () {
      return Promise.all(pending.map(function (input) { return Outbox.uploadVoice(input.value); }));
    }).then(function (outcomes) {
      var failed = outcomes.filter(function (outcome) { return outcome.kind !== "sent"; });
      if (failed.length) { throw new Error(failed[0].detail || ""); }
      pending.forEach(function (input) { delete input.dataset.recordedId; });
      form.submit();
    }).catch(function (error) {
      var status = form.querySelector("[data-outbox-status]");
      if (status) { status.textContent = (error && error.message) || s.voiceUploadFailed; }
    });
  });

  function enhance(root) {
    root.querySelectorAll("form[data-record-form], form[data-barrier-form]").forEach(function (form) {
      if (form.dataset.voiceReady) { return; }
      form.dataset.voiceReady = "1";
      setUp(form);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });
})();
