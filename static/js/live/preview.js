/* The composer's preview: what the server's anonymizer will store, shown as the writer types, and the
 * words the writer marks as names (lower-case or unusual names no detector finds).
 *
 * The preview asks the server (``note:preview``) after a pause in typing; the server stores nothing and
 * sends the answer to this page only. Marked words travel with the note (``names``) and are replaced
 * when it is stored; they are kept nowhere but in this page and its outbox.
 */
import { chipButton, el } from "./dom.js";
import { MAX_LENGTH, els, state } from "./page.js";
import { send, socket } from "./socket.js";

const PAUSE_MS = 350;
const box = document.getElementById("note-preview");
const shown = document.getElementById("preview-text");
const summary = document.getElementById("preview-changes");
const markedList = document.getElementById("marked-names");
const markButton = document.getElementById("mark-name-button");

let marked = [];
let timer = null;
let asked = 0;

export const sameWord = (a, b) => a.toLocaleLowerCase() === b.toLocaleLowerCase();
// Letters, marks, digits, apostrophes and hyphens: what a name is made of.
const NAME_CHAR = /[\p{L}\p{M}\p{N}'’-]/u;

/** The marked words that still occur in ``text`` (a word deleted from the note is unmarked). */
export function markedNames(text) {
  const lower = text.toLocaleLowerCase();
  return marked.filter((name) => lower.includes(name.toLocaleLowerCase()));
}

/** Say which marked names went on the series' roster (a facilitator's marks do; see events.py). */
export function announceRosterAdditions(names) {
  const status = document.getElementById("roster-message");
  if (!status || !names || !names.length) return;
  status.textContent = "Added to this series' roster, replaced in every later note: " +
    names.map((n) => "“" + n + "”").join(", ") + ".";
}

/** Forget the marks once a note is sent: they belong to that note. */
export function clearMarks() {
  marked = [];
  renderMarked();
  clearPreview();
}

function clearPreview() {
  clearTimeout(timer);
  asked += 1; // an answer still on its way is for text that is gone
  if (box) box.hidden = true;
  if (shown) shown.textContent = "";
  if (summary) summary.textContent = "";
}

/** Ask for a preview after the writer pauses (``now``: at once, after marking a word). */
export function schedulePreview(now = false) {
  clearTimeout(timer);
  marked = markedNames(els.text.value);
  renderMarked();
  timer = setTimeout(requestPreview, now ? 0 : PAUSE_MS);
}

function requestPreview() {
  const text = els.text.value.trim();
  if (!text || text.length > MAX_LENGTH || !state.live || !socket || !socket.connected) { clearPreview(); return; }
  const mine = ++asked;
  send("note:preview", { text, names: markedNames(text), speaker_role: els.speaker.value || null }, (err, reply) => {
    if (mine !== asked) return; // the writer typed on; a newer preview is on its way
    if (err || !reply) { showProblem("Preview unavailable: the server did not answer."); return; }
    if (!reply.ok) { showProblem(reply.code === 429 ? "Preview paused: typing faster than it can follow." : reply.error); return; }
    render(reply);
  }, 5000);
}

function showProblem(message) {
  box.hidden = false;
  shown.textContent = "";
  summary.textContent = message;
}

// The stored text with each replacement marked; text nodes only, never HTML.
function render(reply) {
  box.hidden = false;
  shown.textContent = "";
  let pos = 0;
  reply.replacements.forEach((r, i) => {
    const [start, end] = r;
    if (start < pos || end > reply.text.length) return;
    shown.appendChild(document.createTextNode(reply.text.slice(pos, start)));
    const mark = el("mark", "replaced", reply.text.slice(start, end));
    const change = reply.changes[i];
    if (change) mark.title = "Replaces “" + change.from + "”";
    shown.appendChild(mark);
    pos = end;
  });
  shown.appendChild(document.createTextNode(reply.text.slice(pos)));
  summary.textContent = reply.changes.length
    ? "Will replace " + reply.changes.map((c) => "“" + c.from + "” with “" + c.to + "”").join(", ") + "."
    : "Nothing will be replaced.";
}

function renderMarked() {
  if (!markedList) return;
  markedList.textContent = "";
  marked.forEach((name) => {
    const chip = el("span", "chip marked-name");
    chip.appendChild(el("span", "chip-name", "Name: " + name));
    chip.appendChild(chipButton("✕", "Unmark “" + name + "” as a name", () => {
      marked = marked.filter((n) => n !== name);
      renderMarked();
      schedulePreview(true);
      els.text.focus();
    }));
    markedList.appendChild(chip);
  });
}

/** The selected words in ``textarea``, or the word at its caret; without surrounding punctuation or a
 * possessive "'s". */
export function wordToMark(textarea) {
  const value = textarea.value;
  let start = textarea.selectionStart, end = textarea.selectionEnd;
  if (start === end) {
    while (start > 0 && NAME_CHAR.test(value[start - 1])) start -= 1;
    while (end < value.length && NAME_CHAR.test(value[end])) end += 1;
  }
  return value.slice(start, end).replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "").replace(/['’]s$/iu, "").trim();
}

/** Mark the selected word (or the word at the caret) as a name. */
export function markName() {
  const word = wordToMark(els.text);
  if (!word || word.length > 100) {
    showProblem("Select a name in the note (or put the cursor in it), then choose Mark as name.");
    return;
  }
  if (!marked.some((n) => sameWord(n, word))) marked.push(word);
  renderMarked();
  schedulePreview(true);
}

export function initPreview() {
  if (!box) return;
  els.text.addEventListener("input", () => {
    if (els.text.value.trim()) schedulePreview(); else clearPreview();
  });
  if (markButton) markButton.addEventListener("click", () => { markName(); els.text.focus(); });
  if (els.speaker) els.speaker.addEventListener("change", () => { if (els.text.value.trim()) schedulePreview(true); });
  els.text.addEventListener("keydown", (e) => {
    if (e.altKey && !e.ctrlKey && !e.metaKey && (e.code === "KeyN" || e.key === "n" || e.key === "N")) { e.preventDefault(); markName(); }
  });
}
