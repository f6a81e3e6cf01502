/* Roundtable live session page: a shared note stream that loses nothing.
 *
 * Every note gets a UUID here and waits in the outbox (outbox.js) until the
 * server acknowledges it; on every (re)connect the page re-joins the room,
 * fetches what it missed after the last seq up to which it has every note
 * (seqs.js; a hole left by a note never sent live is also fetched), and resends the outbox
 * (the server stores a UUID once). ES modules, no build step, no inline script (CSP).
 */
import { disableComposer, initComposer } from "./composer.js";
import { initFilters } from "./filters.js";
import { announceRosterAdditions } from "./preview.js";
import { paintColors } from "./dom.js";
import { Outbox } from "./outbox.js";
import { CAN_WRITE, SESSION_ID, els, root, state } from "./page.js";
import { noteTyping, setConnection, setOutboxCounts, setPresence } from "./presence.js";
import { send, socket } from "./socket.js";
import { fetchUnanswered, keepNewestAbove, marks, removeNote, rerenderAll, scrollToNewest, showNote, showPending, originals } from "./stream.js";

const CLOSED_REASON = "The session was closed before the server had this note.";
// Access changed while this page could not be told (offline, asleep, the server restarting): a fresh load
// shows what the account may still see — a viewer's page, nothing, or the login form.
const ACCESS_ENDED = [401, 403, 404];
const reloadForAccess = () => window.location.reload();
// A seq still missing behind a later one after 10–15 s is fetched. Not sooner: sends from two processes cross,
// and on a server far behind, a thousand pages asking at once would add to its load.
const FILL_HOLE_AFTER_MS = 10000;
const FILL_HOLE_JITTER_MS = 5000;
let filling = false;

const outbox = new Outbox("roundtable.outbox." + SESSION_ID, sendNote, {
  accepted: (_item, note, reply) => { showNote(note); announceRosterAdditions(reply.added_to_roster); },
  changed: (item, why) => {
    item.waitingLabel = why === "timeout" ? "No answer yet; trying again…" : why === 429 ? "Slowing down; trying again…" : null;
    showPending(item);
  },
  stopped: (reason) => setConnection("error", reason),
  resumed: () => { if (state.joined) setConnection("online", "Connected"); },
  removed: (item) => removeNote(item.uuid),
  counted: () => setOutboxCounts(outbox.waiting, outbox.failed),
});
outbox.canSend = () => state.joined && socket.connected && state.live;

/** Joined or not: a waiting note says whether it is being sent or waits for the connection. */
function setJoined(joined) {
  if (state.joined === joined) return;
  state.joined = joined;
  outbox.items.forEach(showPending);
}

/** A note stored by a process that died before sending it leaves a hole behind later notes: fetch it. */
function fillHoleLater() {
  const below = state.seqs.holeBelow - 1;
  if (filling || below <= state.seqs.complete) return;
  filling = true;
  setTimeout(() => {
    if (!state.joined || state.seqs.complete >= below) { filling = false; return; }
    // Only the hole: a seq is taken under the session row's lock until its note is stored, so every seq
    // below one this page holds is stored (or never will be).
    const before = Math.min(...state.seqs.ahead);
    send("notes:since", { after: state.seqs.complete, before }, (err, reply) => {
      filling = false;
      if (err || !reply || !reply.ok) return; // the next note or rejoin tries again
      reply.notes.forEach((note) => { outbox.confirm(note.uuid); showNote(note); });
      state.seqs.caughtUpTo(before - 1);
    });
  }, FILL_HOLE_AFTER_MS + Math.random() * FILL_HOLE_JITTER_MS);
}

function sendNote(item, callback) {
  send("note:add", { uuid: item.uuid, text: item.text, kind: item.kind, speaker_role: item.speaker_role || null,
    themes: item.themes || [], names: item.names || [] }, callback);
}

function setLive(live) {
  state.live = live;
  if (!live) {
    if (els.closedBanner) els.closedBanner.hidden = false;
    if (els.badge) { els.badge.textContent = "closed"; els.badge.className = "badge badge-closed"; }
    disableComposer();
    // Notes still waiting can no longer be stored: say so, keep them (Copy, Discard) across reloads.
    outbox.failAll(CLOSED_REASON);
  }
  rerenderAll();
}

function join() {
  setJoined(false);
  // "Connected" once the join is answered: until then the page does not know its role or what it missed.
  setConnection("connecting", "Connecting…");
  // Only what this page has not seen: new notes after the last sequence number, and notes changed after the
  // last change number a join told it (edits, deletes, themes; by anyone, through any server process). A
  // restart then costs each page a few notes, not the whole session. Not the newest change number seen in a
  // live event: sends from two processes cross (change 6 may arrive before 5, or 5 never, if its process died
  // after the commit), and viewers never hear of suggestion changes, so that number could skip a change for
  // good. The join's number is read from the database, with every change up to it committed
  // (docs/performance.md, "Not done: a rejoin asking only for changes after the newest one seen live").
  const payload = { after: state.seqs.complete };
  if (state.lastChange !== undefined) payload.changes_after = state.lastChange;
  send("session:join", payload, (err, reply) => {
    if (err) { if (socket.connected) setTimeout(join, 1000); return; } // a busy server after a restart
    if (reply && ACCESS_ENDED.includes(reply.code)) { reloadForAccess(); return; }
    if (!reply || !reply.ok) { setConnection("error", (reply && reply.error) || "Could not join"); return; }
    if (CAN_WRITE && reply.you.role === "viewer") { reloadForAccess(); return; }
    const first = !state.you;
    state.you = reply.you;
    state.lastChange = reply.last_change;
    reply.notes.forEach((note) => { outbox.confirm(note.uuid); showNote(note); });
    state.seqs.caughtUpTo(reply.last_seq);
    setPresence(reply.presence);
    if (first) scrollToNewest();
    if (reply.state !== "live") setLive(false);
    setJoined(true);
    setConnection("online", "Connected");
    outbox.resume();
    fetchUnanswered();
  });
}

paintColors(document);

// Closing ends note-taking for everyone and fails every note still on its way: one stray tap must not do it.
const closeForm = document.querySelector(".close-session");
if (closeForm) closeForm.addEventListener("submit", (e) => {
  if (!window.confirm("Close this session for everyone? Its notes become read-only, and notes not yet sent " +
    "can no longer be stored. A facilitator can reopen it from the series page.")) e.preventDefault();
});

if (root && socket) {
  outbox.items.forEach((item) => { originals.set(item.uuid, item.text); marks.set(item.uuid, item.names || []); showPending(item); });
  setOutboxCounts(outbox.waiting, outbox.failed);
  initComposer(outbox);
  initFilters();
  scrollToNewest();
  if (els.composer) keepNewestAbove(els.composer);

  socket.on("connect", join);
  // Removed, role changed or logged out: the server closes the socket; reload to see what is left.
  socket.on("access:revoked", reloadForAccess);
  socket.on("disconnect", () => { setJoined(false); setConnection("offline", "Offline, reconnecting…"); });
  socket.on("connect_error", (err) => {
    if (socket.active) { setConnection("offline", "Offline, reconnecting…"); return; }
    if (err && err.data && err.data.code === 401) { reloadForAccess(); return; }
    // Refused by the server (full): say why, and ask again later ourselves.
    setConnection("error", "Not connected: " + ((err && err.message) || "refused by the server"));
    setTimeout(() => socket.connect(), 20000 + Math.random() * 20000);
  });
  socket.on("note:added", (note) => {
    if (note.session_id !== SESSION_ID) return;
    outbox.confirm(note.uuid);
    showNote(note);
    fillHoleLater();
  });
  socket.on("note:updated", (note) => { if (note.session_id === SESSION_ID) showNote(note); });
  socket.on("note:tags", (data) => {
    const note = Object.values(state.notes).find((n) => n.id === data.note_id);
    if (!note || data.change < note.change) return; // older than what the page shows
    if (data.change !== undefined) note.change = data.change;
    note.tags = data.tags;
    showNote(note);
  });
  socket.on("presence", (p) => { if (p.session_id === SESSION_ID) setPresence(p); });
  socket.on("typing", (t) => { if (t.session_id === SESSION_ID) noteTyping(t); });
  socket.on("session:state", (s) => { if (s.session_id === SESSION_ID) setLive(s.state === "live"); });
  socket.on("error", (e) => {
    if (e && e.code === 401) setConnection("error", "Your login has expired: reload the page to log in");
  });
  window.addEventListener("online", () => { if (!socket.connected) socket.connect(); });
}
