/* The outbox: notes this browser wrote that the server has not confirmed yet.
 *
 * Every note waits here (and in localStorage, so a reload keeps it) until the
 * server acknowledges it; the server stores a UUID once, so resending is safe.
 * What happens after each reply is one table, ``REPLIES``: nothing is dropped
 * without the server's "ok", and a note that cannot be delivered stays visible
 * with its reason until the writer retries, copies or discards it.
 */

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];

/** What to do with a note after the server's reply (or its absence). */
export const REPLIES = {
  accepted: { action: "drop" },
  timeout: { action: "retry" },   // this note waits; the ones behind it go ahead
  429: { action: "pause" },       // the account's budget: everything waits, order kept
  400: { action: "fail" },
  409: { action: "fail" },
  413: { action: "fail" },
  401: { action: "stop", reason: "Your login has expired: log in again in another tab, then retry. Your notes stay on this device." },
  403: { action: "stop", reason: "You may no longer write in this session." },
  404: { action: "stop", reason: "This session no longer exists." },
  410: { action: "stop", reason: "This session no longer exists." },
  "session-closed": { action: "stop", reason: "The session was closed before the server had this note." },
};

/** The row of ``REPLIES`` for a reply: ``err`` is an ack timeout, ``reply`` the server's body. */
export function classify(err, reply) {
  if (err || !reply) return { key: "timeout", ...REPLIES.timeout };
  if (reply.ok) return { key: "accepted", ...REPLIES.accepted };
  const key = reply.reason === "session-closed" ? "session-closed" : reply.code;
  const row = REPLIES[key] || { action: "fail" };
  return { key, ...row, reason: row.reason || reply.error || "The server refused this note." };
}

export class Outbox {
  /**
   * ``send(item, callback)`` emits one note; ``hooks`` tell the page what changed:
   * ``accepted(item, note, reply)``, ``changed(item)`` (now failed, retried or waiting), ``stopped(reason)``,
   * ``resumed()`` (sending again after a stop), ``removed(item)``, ``counted()`` (the number of waiting notes changed).
   */
  constructor(key, send, hooks) {
    this.key = key;
    this.send = send;
    this.hooks = hooks;
    this.items = this.load();
    this.inFlight = null;
    this.stoppedReason = null;
    this.timer = null;
    this.pausedUntil = 0;
    this.canSend = () => true;
  }

  load() {
    try {
      const items = JSON.parse(localStorage.getItem(this.key) || "[]");
      return Array.isArray(items) ? items.filter((n) => n && n.uuid && typeof n.text === "string") : [];
    } catch (e) { return []; }
  }

  save() {
    try { localStorage.setItem(this.key, JSON.stringify(this.items)); } catch (e) { /* private mode: memory only */ }
    this.hooks.counted();
  }

  get waiting() { return this.items.filter((n) => !n.failed).length; }
  get failed() { return this.items.filter((n) => n.failed).length; }

  find(uuid) { return this.items.find((n) => n.uuid === uuid); }

  add(item) {
    this.items.push(item);
    this.tryAgain(); // a new note is the writer trying again: one attempt, not a loop
    this.save();
    this.flush();
  }

  /** The server has the note (its ack, a broadcast or a catch-up said so): forget it. */
  confirm(uuid) {
    const before = this.items.length;
    this.items = this.items.filter((n) => n.uuid !== uuid);
    if (this.items.length !== before) this.save();
  }

  discard(uuid) {
    const item = this.find(uuid);
    this.confirm(uuid);
    if (item) this.hooks.removed(item);
  }

  retry(uuid) {
    const item = this.find(uuid);
    if (!item) return;
    delete item.failed;
    item.attempts = 0;
    item.retryAt = 0;
    this.tryAgain();
    this.save();
    this.hooks.changed(item);
    this.flush();
  }

  /** After a stop, the writer's next action (a new note, Retry) sends again; a refusal stops the outbox again. */
  tryAgain() {
    if (!this.stoppedReason) return;
    this.stoppedReason = null;
    this.hooks.resumed();
  }

  /** Every waiting note fails with ``reason`` (kept across reloads); the writer decides what to do. */
  failAll(reason) {
    this.items.forEach((item) => {
      if (!item.failed) { item.failed = reason; this.hooks.changed(item); }
    });
    this.save();
  }

  /** Start again after a (re)connect: notes that timed out are sent at once. */
  resume() {
    this.stoppedReason = null;
    this.pausedUntil = 0;
    this.items.forEach((n) => { n.retryAt = 0; });
    this.flush();
  }

  /** Send the oldest note that is due, one at a time; a note waiting for its back-off lets the others pass. */
  flush() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight || this.stoppedReason || !this.canSend()) return;
    const now = Date.now();
    if (this.pausedUntil > now) {
      this.timer = setTimeout(() => this.flush(), this.pausedUntil - now);
      return;
    }
    const waiting = this.items.filter((n) => !n.failed);
    const item = waiting.find((n) => !n.retryAt || n.retryAt <= now);
    if (!item) {
      const next = Math.min(...waiting.map((n) => n.retryAt));
      if (isFinite(next)) this.timer = setTimeout(() => this.flush(), Math.max(50, next - now));
      return;
    }
    this.inFlight = item.uuid;
    this.send(item, (err, reply) => {
      this.inFlight = null;
      this.handle(item, classify(err, reply), reply);
      this.flush();
    });
  }

  handle(item, outcome, reply) {
    if (!this.find(item.uuid)) return; // discarded meanwhile
    if (outcome.action === "drop") {
      this.confirm(item.uuid);
      this.hooks.accepted(item, reply.note, reply);
    } else if (outcome.action === "retry" || outcome.action === "pause") {
      item.attempts = (item.attempts || 0) + 1;
      const base = BACKOFF_MS[Math.min(item.attempts - 1, BACKOFF_MS.length - 1)];
      const wait = (reply && reply.retry_after ? reply.retry_after * 1000 : base) * (0.8 + Math.random() * 0.4);
      if (outcome.action === "pause") this.pausedUntil = Date.now() + wait;
      else item.retryAt = Date.now() + wait;
      this.save();
      this.hooks.changed(item, outcome.key);
    } else if (outcome.action === "fail") {
      item.failed = outcome.reason;
      this.save();
      this.hooks.changed(item);
    } else {
      this.stoppedReason = outcome.reason;
      this.failAll(outcome.reason);
      this.hooks.stopped(outcome.reason);
    }
  }
}

export function newUuid() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.prototype.map.call(b, (x) => (x + 0x100).toString(16).slice(1)).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}
