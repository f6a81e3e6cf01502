/* What the live page knows when it loads (from data attributes), and its shared mutable state. */
import { Seqs } from "./seqs.js";

export const root = document.getElementById("live");
const data = root ? root.dataset : {};

export const SESSION_ID = parseInt(data.sessionId, 10);
export const CAN_WRITE = data.canWrite === "true";
export const CAN_REVIEW = data.canReview === "true";
export const ACK_TIMEOUT_MS = parseInt(data.ackTimeoutMs || "10000", 10);
export const MAX_LENGTH = parseInt(data.maxLength || "4000", 10);
export const KINDS = JSON.parse(data.kinds || "[]");
export const THEMES = JSON.parse(data.themes || "[]");
export const THEME_BY_ID = {};

// One colour per note-taker, so a reader can follow who wrote what.
const WRITER_PALETTE = ["#2f6d9a", "#b5542c", "#2e7d4f", "#7c5fa8", "#a8326e", "#8c6d11", "#1f7f86", "#5b6b2f"];
export const WRITERS = {};
JSON.parse(data.writers || "[]").forEach((w, i) => {
  const initials = w.name.split(/\s+/).filter(Boolean).slice(0, 2).map((p) => p[0].toUpperCase()).join("");
  WRITERS[w.id] = { name: w.name, initials: initials || "?", color: WRITER_PALETTE[i % WRITER_PALETTE.length] };
});
THEMES.forEach((t) => { THEME_BY_ID[t.id] = t; });

export const state = {
  notes: {},          // uuid -> note (acknowledged, from the server)
  seqs: new Seqs(),    // the seq up to which every note is here (seqs.js)
  you: null,
  live: data.state === "live",
  joined: false,      // in the session's room now: the outbox can send
  chosenThemes: [],
  pickerTarget: null, // null = composer, else a note uuid
};

const byId = (id) => document.getElementById(id);
export const els = {
  notes: byId("notes"),
  empty: byId("stream-empty"),
  connection: byId("connection"),
  presence: byId("presence"),
  typing: byId("typing"),
  composer: byId("composer"),
  text: byId("note-text"),
  speaker: byId("speaker-role"),
  chosen: byId("chosen-themes"),
  themeButton: byId("theme-button"),
  picker: byId("theme-picker"),
  filter: byId("theme-filter"),
  options: byId("theme-options"),
  closedBanner: byId("closed-banner"),
  badge: byId("state-badge"),
};
