/* Roundtable live session page: a shared note stream that loses nothing.
 *
 * Every note gets a UUID here and waits in an outbox in localStorage until the
 * server acknowledges it with its sequence number; on every (re)connect the page
 * re-joins the room, fetches what it missed and resends the outbox (the server
 * stores a UUID once). Plain JavaScript, no build step, no inline script (CSP).
 */
(function () {
  "use strict";

  // Colours come from data-color attributes (inline style attributes are blocked by the CSP).
  function paintColors(root) {
    root.querySelectorAll("[data-color]").forEach(function (el) {
      var color = el.getAttribute("data-color");
      if (/^#[0-9a-fA-F]{3,8}$/.test(color)) el.style.setProperty("--theme-color", color);
    });
  }
  paintColors(document);

  var root = document.getElementById("live");
  if (!root || typeof io === "undefined") return;

  var SESSION_ID = parseInt(root.dataset.sessionId, 10);
  var CAN_WRITE = root.dataset.canWrite === "true";
  var CAN_REVIEW = root.dataset.canReview === "true";
  var KINDS = JSON.parse(root.dataset.kinds || "[]");
  var THEMES = JSON.parse(root.dataset.themes || "[]");
  var THEME_BY_ID = {};
  THEMES.forEach(function (t) { THEME_BY_ID[t.id] = t; });
  var OUTBOX_KEY = "roundtable.outbox." + SESSION_ID;
  var ACK_TIMEOUT_MS = 10000;

  var state = {
    notes: {},          // uuid -> note (acked, from the server)
    lastSeq: 0,
    you: null,
    live: root.dataset.state === "live",
    sending: false,
    chosenThemes: [],
    pickerTarget: null, // null = composer, else a note uuid
    typingTimer: null,
    typingSent: false,
    typers: {},
  };

  var els = {
    notes: document.getElementById("notes"),
    empty: document.getElementById("stream-empty"),
    connection: document.getElementById("connection"),
    presence: document.getElementById("presence"),
    typing: document.getElementById("typing"),
    composer: document.getElementById("composer"),
    text: document.getElementById("note-text"),
    speaker: document.getElementById("speaker-role"),
    chosen: document.getElementById("chosen-themes"),
    themeButton: document.getElementById("theme-button"),
    picker: document.getElementById("theme-picker"),
    filter: document.getElementById("theme-filter"),
    options: document.getElementById("theme-options"),
    closedBanner: document.getElementById("closed-banner"),
    badge: document.getElementById("state-badge"),
  };

  // --- outbox -------------------------------------------------------------------------------

  function loadOutbox() {
    try {
      var items = JSON.parse(localStorage.getItem(OUTBOX_KEY) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) { return []; }
  }
  function saveOutbox(items) {
    try { localStorage.setItem(OUTBOX_KEY, JSON.stringify(items)); } catch (e) { /* private mode: memory only */ }
  }
  var outbox = loadOutbox();
  // What this browser's own notes said before anonymization (the server never stores it), until the
  // page is closed: it lets the writer undo a false positive ("keep 'Berlin'").
  var originals = new Map();
  outbox.forEach(function (n) { originals.set(n.uuid, n.text); });
  function outboxRemove(uuid) {
    outbox = outbox.filter(function (n) { return n.uuid !== uuid; });
    saveOutbox(outbox);
  }

  function newUuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // --- rendering ----------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function sortedReplacements(replacements) {
    return (replacements || []).slice().sort(function (a, b) { return a[0] - b[0]; });
  }

  // Note text with the anonymizer's replacements highlighted; always as text nodes, never HTML.
  // ``words`` (the writer's own notes only) holds the original word behind each replacement.
  function renderText(container, text, replacements, words) {
    container.textContent = "";
    var pos = 0;
    sortedReplacements(replacements).forEach(function (r, i) {
      var start = r[0], end = r[1];
      if (start < pos || end > text.length) return;
      if (start > pos) container.appendChild(document.createTextNode(text.slice(pos, start)));
      var mark = el("mark", "replaced", text.slice(start, end));
      mark.title = "Replaced by Roundtable (" + r[2] + ")";
      if (words && words[i]) {
        mark.tabIndex = 0;
        mark.setAttribute("role", "button");
        mark.setAttribute("aria-label", "Replaced by Roundtable: keep the original “" + words[i] + "”");
        mark.title += ". Click to keep the original.";
        mark.dataset.action = "keep";
        mark.dataset.term = words[i];
      }
      container.appendChild(mark);
      pos = end;
    });
    if (pos < text.length) container.appendChild(document.createTextNode(text.slice(pos)));
  }

  // The original word behind each replacement of ``text``, from the original text: the text between
  // replacements is the same in both. Null when they do not line up (someone else edited the note).
  function originalWords(original, text, replacements) {
    var sorted = sortedReplacements(replacements);
    var words = [], pos = 0, at = 0;
    for (var i = 0; i < sorted.length; i++) {
      var gap = text.slice(pos, sorted[i][0]);
      if (original.slice(at, at + gap.length) !== gap) return null;
      at += gap.length;
      pos = sorted[i][1];
      var next = i + 1 < sorted.length ? text.slice(pos, sorted[i + 1][0]) : text.slice(pos);
      var end = i + 1 < sorted.length ? (next ? original.indexOf(next, at + 1) : -1) : original.length - next.length;
      if (end <= at || (i + 1 === sorted.length && original.slice(end) !== next)) return null;
      words.push(original.slice(at, end).trim());
      at = end;
    }
    return words;
  }

  function keepableWords(note) {
    var original = originals.get(note.uuid);
    if (!original || !CAN_WRITE || !state.live || !state.you || note.author_id !== state.you.id) return null;
    return originalWords(original, note.text, note.replacements);
  }

  function timeOf(iso) {
    var d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function renderNote(note, pending) {
    var li = document.getElementById("note-" + note.uuid);
    if (!li) {
      li = el("li", "note");
      li.id = "note-" + note.uuid;
      li.dataset.uuid = note.uuid;
    }
    li.className = "note kind-" + note.kind + (pending ? " pending" : "") + (note.deleted ? " deleted" : "") +
      (note.failed ? " failed" : "");
    li.dataset.seq = note.seq || "";
    li.textContent = "";

    var meta = el("div", "note-meta");
    meta.appendChild(el("span", "seq", note.seq ? "#" + note.seq : "…"));
    meta.appendChild(el("span", "kind kind-" + note.kind, note.kind));
    if (note.speaker_role) meta.appendChild(el("span", "speaker", note.speaker_role));
    if (pending) {
      var status = el("span", "status", note.failed ? "Not saved: " + note.failed : "Sending…");
      status.setAttribute("role", note.failed ? "alert" : "status");
      meta.appendChild(status);
    }
    if (note.version > 1 && !note.deleted) meta.appendChild(el("span", "edited", "edited"));
    var right = el("span", "meta-right");
    if (!pending && !note.deleted && CAN_WRITE && state.live) {
      var actions = el("span", "note-actions");
      actions.appendChild(actionButton("Edit", "edit", note));
      if (THEMES.length) actions.appendChild(actionButton("Tag", "tag", note));
      actions.appendChild(actionButton("Delete", "delete", note));
      right.appendChild(actions);
    }
    var time = el("time", null, timeOf(note.created_at));
    if (note.created_at) time.dateTime = note.created_at;
    right.appendChild(time);
    meta.appendChild(right);
    li.appendChild(meta);

    if (note.deleted) {
      li.appendChild(el("p", "note-text", "Note deleted."));
      return li;
    }
    var body = el("p", "note-text");
    renderText(body, note.text, note.replacements, pending ? null : keepableWords(note));
    li.appendChild(body);

    var chips = el("ul", "chips");
    chips.setAttribute("aria-label", "Themes");
    (note.tags || []).forEach(function (tag) { chips.appendChild(renderChip(note, tag)); });
    if (pending) (note.themes || []).forEach(function (id) {
      var t = THEME_BY_ID[id];
      if (t) chips.appendChild(renderChip(note, { theme_id: id, theme: t.name, color: t.color, status: "accepted" }));
    });
    li.appendChild(chips);
    paintColors(li);
    return li;
  }

  function renderChip(note, tag) {
    var theme = THEME_BY_ID[tag.theme_id] || {};
    var name = tag.theme || tag.name || theme.name || "theme";
    var chip = el("li", "chip" + (tag.status === "suggested" ? " suggested" : ""));
    chip.dataset.color = tag.color || theme.color || "";
    chip.appendChild(el("span", "chip-name", name));
    if (tag.status === "suggested") {
      chip.title = "Suggested (" + Math.round((tag.confidence || 0) * 100) + "%)";
      if (CAN_REVIEW && tag.id && state.live) {
        chip.appendChild(chipButton("✓", "Accept theme " + name, function () { send("tag:accept", { tag_id: tag.id }); }));
        chip.appendChild(chipButton("✕", "Reject theme " + name, function () { send("tag:reject", { tag_id: tag.id }); }));
      }
    } else if (CAN_WRITE && note.id && state.live) {
      chip.appendChild(chipButton("✕", "Remove theme " + name, function () {
        send("tag:remove", { note_id: note.id, theme_id: tag.theme_id });
      }));
    }
    return chip;
  }

  function chipButton(label, aria, onClick) {
    var b = el("button", "chip-button", label);
    b.type = "button";
    b.setAttribute("aria-label", aria);
    b.addEventListener("click", onClick);
    return b;
  }

  function actionButton(label, action, note) {
    var b = el("button", "link-action", label);
    b.type = "button";
    b.dataset.action = action;
    b.setAttribute("aria-label", label + " note " + note.seq);
    return b;
  }

  // Keep the list in stream order: acknowledged notes by seq, then pending ones in outbox order.
  function placeNote(li, seq) {
    if (!seq) { els.notes.appendChild(li); return; }
    var children = els.notes.children;
    for (var i = 0; i < children.length; i++) {
      var other = children[i];
      var otherSeq = parseInt(other.dataset.seq || "0", 10);
      if (other === li) continue;
      if (!otherSeq || otherSeq > seq) { els.notes.insertBefore(li, other); return; }
    }
    els.notes.appendChild(li);
  }

  function showNote(note) {
    var known = state.notes[note.uuid];
    if (known && known.version > note.version) return;
    state.notes[note.uuid] = note;
    if (note.seq > state.lastSeq) state.lastSeq = note.seq;
    var wasNearBottom = nearBottom();
    var li = renderNote(note, false);
    placeNote(li, note.seq);
    updateEmpty();
    if (wasNearBottom) scrollToBottom();
  }

  function showPending(item) {
    if (state.notes[item.uuid]) return;
    var li = renderNote({ uuid: item.uuid, kind: item.kind, text: item.text, speaker_role: item.speaker_role,
      themes: item.themes, replacements: [], failed: item.failed }, true);
    placeNote(li, 0);
    updateEmpty();
    scrollToBottom();
  }

  function updateEmpty() {
    if (els.empty) els.empty.hidden = els.notes.children.length > 0;
  }
  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 160;
  }
  function scrollToBottom() {
    window.scrollTo({ top: document.body.scrollHeight });
  }

  function setConnection(status, label) {
    els.connection.dataset.status = status;
    var pending = outbox.length;
    els.connection.querySelector(".label").textContent =
      label + (pending ? " · " + pending + (pending === 1 ? " note waiting" : " notes waiting") : "");
  }

  function setPresence(p) {
    if (!p) return;
    var text = "";
    if (p.writers && p.writers.length) text += "Taking notes: " + p.writers.join(", ");
    text += (text ? " · " : "") + p.viewers + (p.viewers === 1 ? " person here" : " people here");
    els.presence.textContent = text;
  }

  function setLive(live) {
    state.live = live;
    if (!live) {
      if (els.closedBanner) els.closedBanner.hidden = false;
      if (els.badge) { els.badge.textContent = "closed"; els.badge.className = "badge badge-closed"; }
      if (els.composer) {
        els.composer.querySelectorAll("textarea, button, select, input").forEach(function (c) { c.disabled = true; });
        els.composer.classList.add("disabled");
      }
    }
    Object.keys(state.notes).forEach(function (uuid) { renderNote(state.notes[uuid], false); });
  }

  // --- socket -------------------------------------------------------------------------------

  var socket = io({ transports: ["websocket", "polling"], tryAllTransports: true });

  function send(event, payload, callback) {
    payload.session_id = SESSION_ID;
    socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, function (err, reply) {
      if (callback) callback(err, reply);
    });
  }

  socket.on("connect", join);

  function join() {
    setConnection("online", "Connected");
    // The whole stream again (a few KB): a reconnecting page also catches edits and deletes it missed.
    send("session:join", { after: 0 }, function (err, reply) {
      if (err) { if (socket.connected) setTimeout(join, 1000); return; } // a busy server after a restart
      if (!reply || !reply.ok) { setConnection("error", (reply && reply.error) || "Could not join"); return; }
      state.you = reply.you;
      reply.notes.forEach(showNote);
      setPresence(reply.presence);
      if (reply.state !== "live") setLive(false);
      flushOutbox();
    });
  }
  socket.on("disconnect", function () { setConnection("offline", "Offline, reconnecting…"); });
  socket.on("connect_error", function () { setConnection("offline", "Offline, reconnecting…"); });

  socket.on("note:added", function (note) {
    if (note.session_id !== SESSION_ID) return;
    outboxRemove(note.uuid);
    showNote(note);
  });
  socket.on("note:updated", function (note) { if (note.session_id === SESSION_ID) showNote(note); });
  socket.on("note:tags", function (data) {
    var note = Object.values(state.notes).find(function (n) { return n.id === data.note_id; });
    if (!note) return;
    note.tags = data.tags;
    renderNote(note, false);
  });
  socket.on("presence", function (p) { if (p.session_id === SESSION_ID) setPresence(p); });
  socket.on("typing", function (t) {
    if (t.session_id !== SESSION_ID) return;
    if (t.typing) state.typers[t.name] = Date.now(); else delete state.typers[t.name];
    renderTyping();
  });
  socket.on("session:state", function (s) { if (s.session_id === SESSION_ID) setLive(s.state === "live"); });
  socket.on("error", function (e) {
    if (e && e.code === 401) setConnection("error", "Your login has expired: reload the page to log in");
  });

  function renderTyping() {
    if (!els.typing) return;
    var now = Date.now();
    var names = Object.keys(state.typers).filter(function (n) { return now - state.typers[n] < 6000; });
    els.typing.textContent = names.length === 0 ? "" :
      names.length === 1 ? names[0] + " is typing…" : names.join(", ") + " are typing…";
  }
  setInterval(renderTyping, 3000);

  // Send the outbox one note at a time, oldest first; stop at the first failure to keep order.
  function flushOutbox() {
    if (state.sending || !socket.connected || !state.live) return;
    var item = outbox.find(function (n) { return !n.failed; });
    if (!item) { setConnection("online", "Connected"); return; }
    state.sending = true;
    send("note:add", { uuid: item.uuid, text: item.text, kind: item.kind, speaker_role: item.speaker_role || null,
      themes: item.themes || [] }, function (err, reply) {
      state.sending = false;
      if (err) { setConnection("offline", "Waiting for the server"); return; } // timeout: retried on reconnect
      if (reply && reply.ok) {
        outboxRemove(item.uuid);
        showNote(reply.note);
        flushOutbox();
        return;
      }
      if (reply && reply.code === 429) { setTimeout(flushOutbox, 1200); return; }
      if (reply && (reply.code === 400 || reply.code === 409)) {
        item.failed = reply.error;
        saveOutbox(outbox);
        showPending(item);
        renderNote({ uuid: item.uuid, kind: item.kind, text: item.text, themes: item.themes, failed: reply.error }, true);
      }
      flushOutbox();
    });
    setConnection("online", "Connected");
  }

  outbox.forEach(showPending);

  // --- composer -----------------------------------------------------------------------------

  function currentKind() {
    var checked = els.composer.querySelector("input[name=kind]:checked");
    return checked ? checked.value : "point";
  }
  function setKind(index) {
    var radios = els.composer.querySelectorAll("input[name=kind]");
    if (radios[index]) { radios[index].checked = true; }
  }

  function submitNote() {
    var text = els.text.value.trim();
    if (!text || !state.live) return;
    var item = { uuid: newUuid(), text: text, kind: currentKind(), speaker_role: els.speaker.value || null,
      themes: state.chosenThemes.slice() };
    originals.set(item.uuid, text);
    outbox.push(item);
    saveOutbox(outbox);
    showPending(item);
    els.text.value = "";
    state.chosenThemes = [];
    renderChosenThemes();
    stopTyping();
    setKind(0);
    flushOutbox();
  }

  function stopTyping() {
    if (state.typingSent) { send("typing", { typing: false }); state.typingSent = false; }
    clearTimeout(state.typingTimer);
  }

  function renderChosenThemes() {
    if (!els.chosen) return;
    els.chosen.textContent = "";
    state.chosenThemes.forEach(function (id) {
      var t = THEME_BY_ID[id];
      if (!t) return;
      var chip = el("span", "chip");
      chip.dataset.color = t.color;
      chip.appendChild(el("span", "chip-name", t.name));
      chip.appendChild(chipButton("✕", "Remove theme " + t.name, function () {
        state.chosenThemes = state.chosenThemes.filter(function (x) { return x !== id; });
        renderChosenThemes();
      }));
      els.chosen.appendChild(chip);
    });
    paintColors(els.chosen);
  }

  if (els.composer) {
    els.composer.addEventListener("submit", function (e) { e.preventDefault(); submitNote(); });
    els.text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submitNote(); return; }
      if (e.key === "ArrowUp" && !els.text.value) {
        var mine = Object.values(state.notes).filter(function (n) {
          return !n.deleted && state.you && n.author_id === state.you.id;
        }).sort(function (a, b) { return b.seq - a.seq; })[0];
        if (mine) { e.preventDefault(); startEdit(mine); }
      }
    });
    els.text.addEventListener("input", function () {
      if (!state.typingSent && els.text.value) { send("typing", { typing: true }); state.typingSent = true; }
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(stopTyping, 3000);
    });
    if (els.themeButton) els.themeButton.addEventListener("click", function () { openPicker(null, els.themeButton); });
  }

  document.addEventListener("keydown", function (e) {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    var digit = parseInt(e.key, 10);
    if (els.composer && digit >= 1 && digit <= KINDS.length) { e.preventDefault(); setKind(digit - 1); els.text.focus(); }
    else if (els.composer && (e.key === "t" || e.key === "T") && THEMES.length) { e.preventDefault(); openPicker(null, els.themeButton); }
  });

  // --- theme picker (composer or an existing note) ------------------------------------------

  var pickerOpener = null;

  function selectedFor(target) {
    if (target === null) return state.chosenThemes;
    var note = state.notes[target];
    return (note && note.tags || []).filter(function (t) { return t.status !== "suggested"; }).map(function (t) { return t.theme_id; });
  }

  function renderOptions() {
    var query = els.filter.value.trim().toLowerCase();
    var selected = selectedFor(state.pickerTarget);
    els.options.textContent = "";
    THEMES.filter(function (t) { return !query || t.name.toLowerCase().indexOf(query) >= 0; }).forEach(function (t, i) {
      var li = el("li", "theme-option" + (t.sub ? " sub" : ""));
      li.setAttribute("role", "option");
      li.id = "theme-option-" + t.id;
      li.dataset.themeId = t.id;
      li.setAttribute("aria-selected", selected.indexOf(t.id) >= 0 ? "true" : "false");
      var sw = el("span", "swatch");
      sw.dataset.color = t.color;
      sw.setAttribute("aria-hidden", "true");
      li.appendChild(sw);
      li.appendChild(el("span", null, t.name));
      if (i === 0) li.classList.add("active");
      li.addEventListener("mousedown", function (e) { e.preventDefault(); toggleTheme(t.id); });
      els.options.appendChild(li);
    });
    paintColors(els.options);
    syncActive();
  }

  function syncActive() {
    var active = els.options.querySelector(".active");
    els.filter.setAttribute("aria-activedescendant", active ? active.id : "");
  }

  function openPicker(target, opener) {
    state.pickerTarget = target;
    pickerOpener = opener || document.activeElement;
    els.picker.hidden = false;
    els.filter.value = "";
    var anchor = opener && opener.getBoundingClientRect ? opener.getBoundingClientRect() : null;
    if (anchor && window.innerWidth > 640) {
      var top = Math.max(12, Math.min(anchor.top - 12 - 320, window.innerHeight - 340));
      els.picker.style.setProperty("--picker-top", top + "px");
      els.picker.style.setProperty("--picker-left", Math.max(12, Math.min(anchor.left, window.innerWidth - 340)) + "px");
    }
    if (els.themeButton && target === null) els.themeButton.setAttribute("aria-expanded", "true");
    renderOptions();
    els.filter.focus();
  }

  function closePicker() {
    els.picker.hidden = true;
    if (els.themeButton) els.themeButton.setAttribute("aria-expanded", "false");
    if (pickerOpener && pickerOpener.focus) pickerOpener.focus();
    else if (els.text) els.text.focus();
  }

  function toggleTheme(themeId) {
    if (state.pickerTarget === null) {
      var i = state.chosenThemes.indexOf(themeId);
      if (i >= 0) state.chosenThemes.splice(i, 1); else state.chosenThemes.push(themeId);
      renderChosenThemes();
    } else {
      var note = state.notes[state.pickerTarget];
      if (!note) return;
      var has = selectedFor(state.pickerTarget).indexOf(themeId) >= 0;
      send(has ? "tag:remove" : "tag:add", { note_id: note.id, theme_id: themeId });
      note.tags = (note.tags || []).filter(function (t) { return t.theme_id !== themeId; });
      if (!has) note.tags.push({ theme_id: themeId, status: "accepted", source: "manual" });
    }
    renderOptions();
  }

  if (els.filter) {
    els.filter.addEventListener("input", renderOptions);
    els.filter.addEventListener("keydown", function (e) {
      var options = Array.prototype.slice.call(els.options.children);
      var index = options.findIndex(function (o) { return o.classList.contains("active"); });
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (!options.length) return;
        if (index >= 0) options[index].classList.remove("active");
        index = (index + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
        options[index].classList.add("active");
        options[index].scrollIntoView({ block: "nearest" });
        syncActive();
      } else if (e.key === "Enter") {
        e.preventDefault();
        if (index >= 0) toggleTheme(parseInt(options[index].dataset.themeId, 10));
      } else if (e.key === "Escape" || e.key === "Tab") {
        e.preventDefault();
        closePicker();
      }
    });
    els.filter.addEventListener("blur", function () { setTimeout(function () { if (!els.picker.contains(document.activeElement)) els.picker.hidden = true; }, 150); });
  }

  // --- edit and delete ----------------------------------------------------------------------

  function startEdit(note) {
    var li = document.getElementById("note-" + note.uuid);
    if (!li || li.querySelector(".edit-box")) return;
    var body = li.querySelector(".note-text");
    var box = el("textarea", "edit-box");
    box.value = note.text;
    box.rows = Math.min(8, note.text.split("\n").length + 1);
    box.setAttribute("aria-label", "Edit note " + note.seq + ". Enter saves, Escape cancels.");
    var message = el("p", "edit-message");
    message.setAttribute("role", "alert");
    body.replaceWith(box);
    box.after(message);
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
    var baseVersion = note.version;
    box.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); renderNote(state.notes[note.uuid], false); focusComposer(); }
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        var text = box.value.trim();
        if (!text) return;
        send("note:edit", { note_id: note.id, version: baseVersion, text: text }, function (err, reply) {
          if (err) { message.textContent = "The server did not answer; try again."; return; }
          if (reply.ok) { originals.set(note.uuid, text); showNote(reply.note); focusComposer(); return; }
          if (reply.code === 409 && reply.current) {
            // Never overwrite silently: show what is there now and let the writer decide.
            baseVersion = reply.current.version;
            message.textContent = reply.current.deleted ? "Someone deleted this note meanwhile."
              : "Someone changed this note meanwhile. It now reads: “" + reply.current.text +
                "”. Press Enter again to replace it with your text, or Escape to keep theirs.";
          } else {
            message.textContent = reply.error || "Not saved.";
          }
        });
      }
    });
  }

  function focusComposer() { if (els.text && !els.text.disabled) els.text.focus(); }

  // Undo a false positive in the writer's own note: the series keeps the word from now on.
  function keepTerm(note, term) {
    if (!window.confirm("Keep “" + term + "” for this series? It will no longer be replaced.")) return;
    send("term:keep", { note_id: note.id, version: note.version, term: term, text: originals.get(note.uuid) },
      function (err, reply) {
        if (err) { window.alert("The server did not answer; try again."); return; }
        if (reply.ok) { showNote(reply.note); return; }
        window.alert(reply.error || "Not saved.");
      });
  }

  els.notes.addEventListener("keydown", function (e) {
    var mark = e.target.closest("[data-action=keep]");
    if (!mark || (e.key !== "Enter" && e.key !== " ")) return;
    e.preventDefault();
    mark.click();
  });

  els.notes.addEventListener("click", function (e) {
    var button = e.target.closest("[data-action]");
    if (!button) return;
    var li = button.closest(".note");
    var note = state.notes[li.dataset.uuid];
    if (!note) return;
    if (button.dataset.action === "keep") keepTerm(note, button.dataset.term);
    if (button.dataset.action === "edit") startEdit(note);
    if (button.dataset.action === "tag") openPicker(note.uuid, button);
    if (button.dataset.action === "delete" && window.confirm("Delete note " + note.seq + " for everyone?")) {
      send("note:delete", { note_id: note.id, version: note.version }, function (err, reply) {
        if (reply && reply.ok) showNote(reply.note);
      });
    }
  });

  window.addEventListener("online", function () { if (!socket.connected) socket.connect(); });
})();
