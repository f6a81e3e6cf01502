/* Search and filter the stream by text, theme, kind and speaker's role (in this page, nothing is sent). */
import { plural } from "./dom.js";
import { els } from "./page.js";
import { onRendered } from "./stream.js";

const form = document.getElementById("stream-filters");
const fields = form ? {
  text: form.querySelector("[name=q]"),
  theme: form.querySelector("[name=theme]"),
  kind: form.querySelector("[name=kind]"),
  speaker: form.querySelector("[name=speaker]"),
} : null;
const count = document.getElementById("filter-count");

function criteria() {
  return {
    words: fields.text.value.trim().toLowerCase().split(/\s+/).filter(Boolean),
    theme: fields.theme.value,
    kind: fields.kind.value,
    speaker: fields.speaker.value,
  };
}

function active(c) { return c.words.length || c.theme || c.kind || c.speaker; }

function matches(li, c) {
  const text = (li.querySelector(".note-text") || li).textContent.toLowerCase();
  return c.words.every((w) => text.indexOf(w) >= 0) &&
    (!c.theme || (li.dataset.themes || "").split(" ").indexOf(c.theme) >= 0) &&
    (!c.kind || li.dataset.kind === c.kind) &&
    (!c.speaker || li.dataset.speaker === c.speaker);
}

function apply(li, c) {
  // Notes this browser has not delivered yet always stay in sight.
  li.hidden = active(c) && !li.classList.contains("pending") && !matches(li, c);
}

function applyAll() {
  const c = criteria();
  const notes = Array.prototype.slice.call(els.notes.children);
  notes.forEach((li) => apply(li, c));
  const shown = notes.filter((li) => !li.hidden).length;
  if (count) count.textContent = active(c) ? "Showing " + shown + " of " + plural(notes.length, "note", "notes") : "";
  form.classList.toggle("filtering", !!active(c));
}

export function initFilters() {
  if (!form) return;
  form.addEventListener("input", applyAll);
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("reset", () => setTimeout(applyAll, 0));
  let queued = false;
  onRendered((li) => {
    apply(li, criteria());
    if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; applyAll(); }); }
  });
}
