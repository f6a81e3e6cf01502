/* Connection state, who is here and who is typing: the strip every role sees at the top of the stream. */
import { el, plural } from "./dom.js";
import { els } from "./page.js";

let connection = { status: "connecting", label: "Connecting…" };
let counts = { waiting: 0, failed: 0 };

function renderConnection() {
  if (!els.connection) return;
  els.connection.dataset.status = connection.status;
  els.connection.toggleAttribute("data-notes", counts.failed > 0); // lasting: notes the writer must act on
  let label = connection.label;
  if (counts.waiting) label += " · " + plural(counts.waiting, "note waiting", "notes waiting");
  if (counts.failed) label += " · " + plural(counts.failed, "note not sent", "notes not sent");
  els.connection.querySelector(".label").textContent = label;
  document.body.dataset.connection = connection.status;
}

export function setConnection(status, label) {
  connection = { status, label };
  renderConnection();
}

export function setOutboxCounts(waiting, failed) {
  counts = { waiting, failed };
  renderConnection();
}

// Who takes notes, then how many are here: at phone width the names are cut short, never the count.
export function setPresence(p) {
  if (!p || !els.presence) return;
  els.presence.textContent = "";
  const writers = p.writers && p.writers.length;
  if (writers) els.presence.appendChild(el("span", "present-writers", "Taking notes: " + p.writers.join(", ")));
  els.presence.appendChild(el("span", "present-count", (writers ? " · " : "") +
    plural(p.viewers, "person", "people") + " here"));
}

const typers = {};

export function noteTyping(t) {
  if (t.typing) typers[t.name] = Date.now(); else delete typers[t.name];
  renderTyping();
}

function renderTyping() {
  if (!els.typing) return;
  const now = Date.now();
  const names = Object.keys(typers).filter((n) => now - typers[n] < 6000);
  els.typing.textContent = names.length === 0 ? "" :
    names.length === 1 ? names[0] + " is typing…" : names.join(", ") + " are typing…";
}
setInterval(renderTyping, 3000);
