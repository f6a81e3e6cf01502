/* The note stream: rendering notes (acknowledged and pending), chips, replacements, and the page's scroll. */
import { chipButton, el, paintColors, timeOf } from "./dom.js";
import { CAN_REVIEW, CAN_WRITE, THEMES, THEME_BY_ID, WRITERS, els, state } from "./page.js";
import { send } from "./socket.js";

// What this browser's own notes said before anonymization (the server never stores it), until the
// page is closed: it lets the writer undo a false positive ("keep 'Berlin'").
export const originals = new Map();
// The words the writer marked as names in each of those notes: keeping a term re-sends the original
// text, and its marked names must be replaced again.
export const marks = new Map();
// Why an action on a note did nothing (by note uuid), shown in the note until the next action on it.
const noteMessages = new Map();

function sortedReplacements(replacements) {
  return (replacements || []).slice().sort((a, b) => a[0] - b[0]);
}

// Note text with the anonymizer's replacements highlighted; always as text nodes, never HTML.
// ``words`` (the writer's own notes only) holds the original word behind each replacement.
function renderText(container, text, replacements, words) {
  container.textContent = "";
  let pos = 0;
  sortedReplacements(replacements).forEach((r, i) => {
    const start = r[0], end = r[1];
    if (start < pos || end > text.length) return;
    if (start > pos) container.appendChild(document.createTextNode(text.slice(pos, start)));
    const mark = el("mark", "replaced", text.slice(start, end));
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
export function originalWords(original, text, replacements) {
  const sorted = sortedReplacements(replacements);
  const words = [];
  let pos = 0, at = 0;
  for (let i = 0; i < sorted.length; i++) {
    const gap = text.slice(pos, sorted[i][0]);
    if (original.slice(at, at + gap.length) !== gap) return null;
    at += gap.length;
    pos = sorted[i][1];
    const next = i + 1 < sorted.length ? text.slice(pos, sorted[i + 1][0]) : text.slice(pos);
    const end = i + 1 < sorted.length ? (next ? original.indexOf(next, at + 1) : -1) : original.length - next.length;
    if (end <= at || (i + 1 === sorted.length && original.slice(end) !== next)) return null;
    words.push(original.slice(at, end).trim());
    at = end;
  }
  return words;
}

function keepableWords(note) {
  const original = originals.get(note.uuid);
  if (!original || !CAN_WRITE || !state.live || !state.you || note.author_id !== state.you.id) return null;
  return originalWords(original, note.text, note.replacements);
}

function actionButton(label, action, note, aria) {
  const b = el("button", "link-action", label);
  b.type = "button";
  b.dataset.action = action;
  b.setAttribute("aria-label", aria || label + " note " + note.seq);
  return b;
}

/** Render (or re-render in place) one note; ``pending`` notes are still in this browser's outbox. */
export function renderNote(note, pending) {
  let li = document.getElementById("note-" + note.uuid);
  if (!li) {
    li = el("li", "note");
    li.id = "note-" + note.uuid;
    li.dataset.uuid = note.uuid;
  }
  li.className = "note kind-" + note.kind + (pending ? " pending" : "") + (note.deleted ? " deleted" : "") +
    (note.failed ? " failed" : "");
  li.dataset.seq = note.seq || "";
  li.dataset.kind = note.kind;
  li.dataset.speaker = note.speaker_role || "";
  li.dataset.themes = (note.tags || []).filter((t) => t.status !== "suggested").map((t) => t.theme_id)
    .concat(note.themes || []).join(" ");
  li.textContent = "";

  const meta = el("div", "note-meta");
  meta.appendChild(el("span", "seq", note.seq ? "#" + note.seq : "…"));
  const writer = note.author_id && WRITERS[note.author_id];
  if (writer) {
    const who = el("span", "writer", writer.initials);
    who.title = "Written by " + writer.name;
    who.setAttribute("aria-label", "Written by " + writer.name);
    li.dataset.writerColor = writer.color;
    meta.appendChild(who);
  }
  meta.appendChild(el("span", "kind kind-" + note.kind, note.kind));
  if (note.speaker_role) meta.appendChild(el("span", "speaker", note.speaker_role));
  if (pending) {
    const status = el("span", "status", note.failed ? "Not sent: " + note.failed : note.waitingLabel || "Sending…");
    status.setAttribute("role", note.failed ? "alert" : "status");
    meta.appendChild(status);
  }
  if (note.version > 1 && !note.deleted) meta.appendChild(el("span", "edited", "edited"));
  const right = el("span", "meta-right");
  if (!pending && !note.deleted && CAN_WRITE && state.live) {
    const actions = el("span", "note-actions");
    actions.appendChild(actionButton("Edit", "edit", note));
    if (THEMES.length) actions.appendChild(actionButton("Tag", "tag", note));
    actions.appendChild(actionButton("Delete", "delete", note));
    right.appendChild(actions);
  }
  const time = el("time", null, timeOf(note.created_at));
  if (note.created_at) time.dateTime = note.created_at;
  right.appendChild(time);
  meta.appendChild(right);
  li.appendChild(meta);

  if (note.deleted) {
    li.appendChild(el("p", "note-text", "Note deleted."));
    return li;
  }
  const body = el("p", "note-text");
  renderText(body, note.text, note.replacements, pending ? null : keepableWords(note));
  li.appendChild(body);

  if (pending && note.failed) {
    const fix = el("div", "failed-actions");
    if (state.live) fix.appendChild(actionButton("Retry", "retry", note, "Retry sending this note"));
    fix.appendChild(actionButton("Copy", "copy", note, "Copy this note's text"));
    fix.appendChild(actionButton("Discard", "discard", note, "Discard this note"));
    li.appendChild(fix);
  }

  const chips = el("ul", "chips");
  chips.setAttribute("aria-label", "Themes");
  (note.tags || []).filter(chipShown).forEach((tag) => chips.appendChild(renderChip(note, tag)));
  if (noteMessages.has(note.uuid)) {
    const why = el("p", "note-message", noteMessages.get(note.uuid));
    why.setAttribute("role", "alert");
    li.appendChild(why);
  }
  if (pending) (note.themes || []).forEach((id) => {
    const t = THEME_BY_ID[id];
    if (t) chips.appendChild(renderChip(note, { theme_id: id, theme: t.name, color: t.color, status: "accepted" }));
  });
  li.appendChild(chips);
  if (writer) li.style.setProperty("--writer-color", writer.color);
  paintColors(li);
  return li;
}

// The server sends suggestions only to those who can accept them, above its confidence floor; a closed
// session's page shows none (they can no longer be decided here).
function chipShown(tag) {
  return tag.status !== "suggested" || (CAN_REVIEW && state.live);
}

function renderChip(note, tag) {
  const theme = THEME_BY_ID[tag.theme_id] || {};
  const name = tag.theme || tag.name || theme.name || "theme";
  const chip = el("li", "chip" + (tag.status === "suggested" ? " suggested" : ""));
  chip.dataset.color = tag.color || theme.color || "";
  chip.appendChild(el("span", "chip-name", name));
  if (tag.status === "suggested") {
    // One suggestion per codebook section: say which section it is the best theme of.
    chip.title = "Suggested" + (tag.section ? " for " + tag.section : "") + " (" + Math.round((tag.confidence || 0) * 100) + "%)";
    if (tag.id) {
      chip.appendChild(chipButton("✓", "Accept theme " + name, () => decide("tag:accept", note, tag)));
      chip.appendChild(chipButton("✕", "Reject theme " + name, () => decide("tag:reject", note, tag)));
    }
  } else if (CAN_WRITE && note.id && state.live) {
    chip.appendChild(chipButton("✕", "Remove theme " + name, () => changeTheme(note, "tag:remove", tag.theme_id)));
  }
  return chip;
}

// Accept or reject a suggestion. One the after-save worker replaced or removed since this page showed it is
// refused (409): say so in the note, and fetch the note's current themes.
function decide(event, note, tag) {
  noteMessages.delete(note.uuid);
  send(event, { tag_id: tag.id }, (err, reply) => {
    if (!err && reply && reply.ok) { showNote(state.notes[note.uuid]); return; }
    refused(note, err, reply,
      "This suggestion was replaced by newer suggestions or removed. The note now shows its current themes.");
  });
}

/** Add or remove a theme by hand; a refusal says why in the note and shows its themes as the server has them. */
export function changeTheme(note, event, themeId) {
  noteMessages.delete(note.uuid);
  send(event, { note_id: note.id, theme_id: themeId }, (err, reply) => {
    if (!(!err && reply && reply.ok)) refused(note, err, reply, null, true);
  });
}

/** An action on ``note`` did nothing: say why in the note; on a conflict (409), or always with ``refetch``
 * (the page showed the change before the server answered), show the note as it is now. Without an answer
 * the page cannot know what the server did: the note is fetched again now and, if that fails too (a dead
 * connection), after the next rejoin. */
export function refused(note, err, reply, conflictMessage, refetch = false) {
  const conflict = !err && reply && reply.code === 409;
  noteMessages.set(note.uuid, err ? "The server did not answer. This note shows what the server has once the " +
    "connection is back." : (conflict && conflictMessage) || (reply && reply.error) || "Not saved.");
  if (err) unanswered.add(note.uuid);
  showNote(state.notes[note.uuid]);
  if (conflict || refetch || err) fetchNote(note.uuid);
}

// Notes an action got no answer for, until the page has fetched them again.
const unanswered = new Set();

function fetchNote(uuid) {
  const seq = state.notes[uuid].seq;
  send("notes:since", { after: seq - 1, before: seq + 1 }, (err, since) => {
    if (err || !since || !since.ok) return;
    if (unanswered.delete(uuid)) {
      noteMessages.set(uuid, "The server did not answer in time. This note now shows what the server has: " +
        "if your change is missing, make it again.");
    }
    since.notes.forEach(showNote);
  });
}

/** After a rejoin: each note an action got no answer for shows what the server has (a rejoin fetches only
 * new and changed notes, not one whose change the server may never have stored). */
export function fetchUnanswered() { unanswered.forEach(fetchNote); }

/** The next action on a note starts without the last one's message. */
export function clearMessage(note) { noteMessages.delete(note.uuid); }

// Keep the list in stream order: acknowledged notes by seq, then pending ones in outbox order.
function placeNote(li, seq) {
  if (!seq) { els.notes.appendChild(li); return; }
  const children = els.notes.children;
  for (let i = 0; i < children.length; i++) {
    const other = children[i];
    const otherSeq = parseInt(other.dataset.seq || "0", 10);
    if (other === li) continue;
    if (!otherSeq || otherSeq > seq) { els.notes.insertBefore(li, other); return; }
  }
  els.notes.appendChild(li);
}

const listeners = [];
/** Called with each note element after it is (re)rendered: the stream filter hides what does not match. */
export function onRendered(listener) { listeners.push(listener); }
function rendered(li) { listeners.forEach((f) => f(li)); }

export function showNote(note) {
  const known = state.notes[note.uuid];
  // A join's reply can cross a live event about the same note: keep the later of the two.
  if (known && (known.version > note.version || known.change > note.change)) return;
  state.notes[note.uuid] = note;
  state.seqs.add(note.seq);
  const wasNearBottom = nearBottom();
  const li = renderNote(note, false);
  placeNote(li, note.seq);
  rendered(li);
  updateEmpty();
  if (wasNearBottom) scrollToNewest();
}

export function showPending(item) {
  if (state.notes[item.uuid]) return;
  // A note that fails grows (the reason, Retry, Copy, Discard): keep it above the composer if it was in view.
  const wasNearBottom = nearBottom();
  const li = renderNote({ uuid: item.uuid, kind: item.kind, text: item.text, speaker_role: item.speaker_role,
    themes: item.themes, replacements: [], failed: item.failed,
    waitingLabel: state.joined ? item.waitingLabel : "Waiting for the connection; sends when it is back",
    author_id: state.you && state.you.id }, true);
  const isNew = !li.parentNode;
  if (isNew) placeNote(li, 0);
  rendered(li);
  updateEmpty();
  if (isNew || wasNearBottom) scrollToNewest();
}

export function removeNote(uuid) {
  const li = document.getElementById("note-" + uuid);
  if (li) li.remove();
  updateEmpty();
}

export function rerenderAll() {
  Object.keys(state.notes).forEach((uuid) => rendered(renderNote(state.notes[uuid], false)));
}

export function updateEmpty() {
  if (els.empty) els.empty.hidden = els.notes.children.length > 0;
}

function nearBottom() {
  return window.innerHeight + window.scrollY >= document.body.scrollHeight - 160;
}

/** When ``composer`` grows (a message under it, the length count), a page that was at the newest note stays
 * there: the sticky composer would otherwise cover the newest note. */
export function keepNewestAbove(composer) {
  let height = composer.offsetHeight;
  new ResizeObserver(() => {
    const grown = composer.offsetHeight - height;
    height = composer.offsetHeight;
    if (grown > 0 && window.innerHeight + window.scrollY >= document.body.scrollHeight - 160 - grown) scrollToNewest();
  }).observe(composer);
}

/** The newest note sits just above the composer: that is where a note-taker works. */
export function scrollToNewest() {
  window.scrollTo({ top: document.body.scrollHeight });
}
