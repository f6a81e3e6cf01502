/* Writing: the composer (kind, speaker, themes, length limit), editing and deleting notes, keeping a term. */
import { chipButton, el, paintColors } from "./dom.js";
import { newUuid } from "./outbox.js";
import { KINDS, MAX_LENGTH, THEMES, THEME_BY_ID, els, state } from "./page.js";
import { openPicker, whenChosenChange } from "./picker.js";
import { announceRosterAdditions, clearMarks, initPreview, markedNames, sameWord, wordToMark } from "./preview.js";
import { send } from "./socket.js";
import { clearMessage, marks, originals, refused, renderNote, showNote, showPending } from "./stream.js";

let outbox = null;
let typingTimer = null;
let typingSent = false;
const counter = document.getElementById("note-length");
const lengthMessage = document.getElementById("note-length-message");

function currentKind() {
  const checked = els.composer.querySelector("input[name=kind]:checked");
  return checked ? checked.value : "point";
}

function setKind(index) {
  const radios = els.composer.querySelectorAll("input[name=kind]");
  if (radios[index]) radios[index].checked = true;
}

// The limit is shown while typing and enforced with a message: a long paste is never cut silently.
function checkLength() {
  const length = els.text.value.trim().length;
  const over = length > MAX_LENGTH;
  if (counter) {
    counter.textContent = length.toLocaleString() + " / " + MAX_LENGTH.toLocaleString();
    counter.hidden = length < MAX_LENGTH * 0.8;
    counter.classList.toggle("over", over);
  }
  if (lengthMessage) {
    lengthMessage.textContent = over ? "This note is " + (length - MAX_LENGTH).toLocaleString() +
      " characters over the limit of " + MAX_LENGTH.toLocaleString() + ". Shorten it or split it into several notes." : "";
  }
  els.text.setAttribute("aria-invalid", over ? "true" : "false");
  return !over;
}

function submitNote() {
  const text = els.text.value.trim();
  if (!text || !state.live) return;
  if (!checkLength()) { els.text.focus(); return; }
  const item = { uuid: newUuid(), text, kind: currentKind(), speaker_role: els.speaker.value || null,
    themes: state.chosenThemes.slice(), names: markedNames(text) };
  originals.set(item.uuid, text);
  marks.set(item.uuid, item.names);
  showPending(item);
  outbox.add(item);
  els.text.value = "";
  clearMarks();
  checkLength();
  state.chosenThemes = [];
  renderChosenThemes();
  stopTyping();
  setKind(0);
}

function stopTyping() {
  if (typingSent) { send("typing", { typing: false }); typingSent = false; }
  clearTimeout(typingTimer);
}

function renderChosenThemes() {
  if (!els.chosen) return;
  els.chosen.textContent = "";
  state.chosenThemes.forEach((id) => {
    const t = THEME_BY_ID[id];
    if (!t) return;
    const chip = el("span", "chip");
    chip.dataset.color = t.color;
    chip.appendChild(el("span", "chip-name", t.name));
    chip.appendChild(chipButton("✕", "Remove theme " + t.name, () => {
      state.chosenThemes = state.chosenThemes.filter((x) => x !== id);
      renderChosenThemes();
    }));
    els.chosen.appendChild(chip);
  });
  paintColors(els.chosen);
}

function startEdit(note) {
  const li = document.getElementById("note-" + note.uuid);
  if (!li || li.querySelector(".edit-box")) return;
  const body = li.querySelector(".note-text");
  const box = el("textarea", "edit-box");
  box.value = note.text;
  box.rows = Math.min(8, note.text.split("\n").length + 1);
  box.setAttribute("aria-label", "Edit note " + note.seq + ". Enter saves, Escape cancels.");
  const message = el("p", "edit-message");
  message.setAttribute("role", "alert");
  // Names marked in this note when it was written still count; the edit box can mark more (Alt+N).
  let named = (marks.get(note.uuid) || []).slice();
  const namedList = el("div", "marked-names");
  namedList.setAttribute("aria-live", "polite");
  const markButton = el("button", "quiet-button mark-name-edit", "Mark as name");
  markButton.type = "button";
  markButton.setAttribute("aria-label", "Mark the selected word in this note, or the word at the cursor, as a name " +
    "to replace (Alt+N)");
  const controls = el("div", "edit-names");
  controls.append(namedList, markButton);
  const renderNamed = () => {
    namedList.textContent = "";
    named.forEach((name) => {
      const chip = el("span", "chip marked-name");
      chip.appendChild(el("span", "chip-name", "Name: " + name));
      chip.appendChild(chipButton("✕", "Unmark “" + name + "” as a name", () => {
        named = named.filter((n) => n !== name);
        renderNamed();
        box.focus();
      }));
      namedList.appendChild(chip);
    });
  };
  const markInBox = () => {
    const word = wordToMark(box);
    if (!word || word.length > 100) {
      message.textContent = "Select a name in the note (or put the cursor in it), then choose Mark as name.";
      return;
    }
    message.textContent = "";
    if (!named.some((n) => sameWord(n, word))) named.push(word);
    renderNamed();
  };
  // mousedown would move the focus (and the selection) out of the box before the click
  markButton.addEventListener("mousedown", (e) => e.preventDefault());
  markButton.addEventListener("click", () => { markInBox(); box.focus(); });
  body.replaceWith(box);
  box.after(controls);
  controls.after(message);
  renderNamed();
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
  let baseVersion = note.version;
  box.addEventListener("keydown", (e) => {
    if (e.altKey && !e.ctrlKey && !e.metaKey && (e.code === "KeyN" || e.key === "n" || e.key === "N")) {
      e.preventDefault();
      markInBox();
      return;
    }
    if (e.key === "Escape") { e.preventDefault(); renderNote(state.notes[note.uuid], false); focusComposer(); }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      const text = box.value.trim();
      if (!text) return;
      if (text.length > MAX_LENGTH) {
        message.textContent = "A note can be at most " + MAX_LENGTH.toLocaleString() + " characters (this one has " +
          text.length.toLocaleString() + ").";
        return;
      }
      // A marked name still in the text is replaced again; one deleted from it is unmarked.
      const lower = text.toLocaleLowerCase();
      const names = named.filter((name) => lower.includes(name.toLocaleLowerCase()));
      send("note:edit", { note_id: note.id, version: baseVersion, text, names }, (err, reply) => {
        if (err) { message.textContent = "The server did not answer; try again."; return; }
        if (reply.ok) {
          originals.set(note.uuid, text);
          marks.set(note.uuid, names);
          showNote(reply.note);
          announceRosterAdditions(reply.added_to_roster);
          focusComposer();
          return;
        }
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
  send("term:keep", { note_id: note.id, version: note.version, term, text: originals.get(note.uuid),
    names: marks.get(note.uuid) || [] }, (err, reply) => {
    if (err) { window.alert("The server did not answer; try again."); return; }
    if (reply.ok) { showNote(reply.note); return; }
    window.alert(reply.error || "Not saved.");
  });
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch (e) {
    // Without clipboard permission: select the text so the writer can copy it by hand.
    const body = button.closest(".note").querySelector(".note-text");
    const range = document.createRange();
    range.selectNodeContents(body);
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  }
}

function onStreamClick(e) {
  const button = e.target.closest("[data-action]");
  if (!button) return;
  const li = button.closest(".note");
  const pending = outbox.find(li.dataset.uuid);
  if (pending) {
    if (button.dataset.action === "retry") outbox.retry(pending.uuid);
    if (button.dataset.action === "copy") copyText(pending.text, button);
    if (button.dataset.action === "discard" && window.confirm("Discard this note? It was never sent.")) {
      outbox.discard(pending.uuid);
    }
    return;
  }
  const note = state.notes[li.dataset.uuid];
  if (!note) return;
  if (button.dataset.action === "keep") keepTerm(note, button.dataset.term);
  if (button.dataset.action === "edit") startEdit(note);
  if (button.dataset.action === "tag") openPicker(note.uuid, button);
  if (button.dataset.action === "delete" && window.confirm("Delete note " + note.seq + " for everyone?")) {
    clearMessage(note);
    send("note:delete", { note_id: note.id, version: note.version }, (err, reply) => {
      if (!err && reply && reply.ok) { showNote(reply.note); return; }
      refused(note, err, reply, "Not deleted: someone changed this note meanwhile. It now shows their version; " +
        "delete it again if it should go.");
    });
  }
}

/** Wire the composer and the stream's note actions to ``theOutbox``. */
export function initComposer(theOutbox) {
  outbox = theOutbox;
  els.notes.addEventListener("click", onStreamClick);
  els.notes.addEventListener("keydown", (e) => {
    const mark = e.target.closest("[data-action=keep]");
    if (!mark || (e.key !== "Enter" && e.key !== " ")) return;
    e.preventDefault();
    mark.click();
  });
  if (!els.composer) return;
  whenChosenChange(renderChosenThemes);
  initPreview();
  els.composer.addEventListener("submit", (e) => { e.preventDefault(); submitNote(); });
  els.text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submitNote(); return; }
    if (e.key === "ArrowUp" && !els.text.value) {
      const mine = Object.values(state.notes).filter((n) => !n.deleted && state.you && n.author_id === state.you.id)
        .sort((a, b) => b.seq - a.seq)[0];
      if (mine) { e.preventDefault(); startEdit(mine); }
    }
  });
  els.text.addEventListener("input", () => {
    checkLength();
    if (!typingSent && els.text.value) { send("typing", { typing: true }); typingSent = true; }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  });
  if (els.themeButton) els.themeButton.addEventListener("click", () => openPicker(null, els.themeButton));
  document.addEventListener("keydown", (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    const digit = parseInt(e.key, 10);
    if (digit >= 1 && digit <= KINDS.length) { e.preventDefault(); setKind(digit - 1); els.text.focus(); }
    else if ((e.key === "t" || e.key === "T") && THEMES.length) { e.preventDefault(); openPicker(null, els.themeButton); }
  });
}

/** A closed session: the composer stays visible but inert. */
export function disableComposer() {
  if (!els.composer) return;
  els.composer.querySelectorAll("textarea, button, select, input").forEach((c) => { c.disabled = true; });
  els.composer.classList.add("disabled");
}
