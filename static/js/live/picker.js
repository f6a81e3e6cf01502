/* The theme picker, for the composer or for an existing note: a filterable listbox next to its button. */
import { el, paintColors } from "./dom.js";
import { THEMES, els, state } from "./page.js";
import { changeTheme } from "./stream.js";

let opener = null;
let onChosenChange = () => {};

/** The composer tells the picker how to redraw its chosen themes. */
export function whenChosenChange(callback) { onChosenChange = callback; }

function selectedFor(target) {
  if (target === null) return state.chosenThemes;
  const note = state.notes[target];
  return ((note && note.tags) || []).filter((t) => t.status !== "suggested").map((t) => t.theme_id);
}

function renderOptions() {
  const query = els.filter.value.trim().toLowerCase();
  const selected = selectedFor(state.pickerTarget);
  els.options.textContent = "";
  THEMES.filter((t) => !query || t.name.toLowerCase().indexOf(query) >= 0).forEach((t, i) => {
    const li = el("li", "theme-option" + (t.sub ? " sub" : ""));
    li.setAttribute("role", "option");
    li.id = "theme-option-" + t.id;
    li.dataset.themeId = t.id;
    li.setAttribute("aria-selected", selected.indexOf(t.id) >= 0 ? "true" : "false");
    const sw = el("span", "swatch");
    sw.dataset.color = t.color;
    sw.setAttribute("aria-hidden", "true");
    li.appendChild(sw);
    li.appendChild(el("span", null, t.name));
    if (i === 0) li.classList.add("active");
    li.addEventListener("mousedown", (e) => { e.preventDefault(); toggleTheme(t.id); });
    els.options.appendChild(li);
  });
  paintColors(els.options);
  syncActive();
}

function syncActive() {
  const active = els.options.querySelector(".active");
  els.filter.setAttribute("aria-activedescendant", active ? active.id : "");
}

const GAP = 6;

// Beside its button and clear of the note it tags: below the note when there is room, otherwise above it.
function place(button, note) {
  const picker = els.picker;
  const width = Math.min(320, window.innerWidth - 2 * 8);
  const height = Math.min(320, picker.offsetHeight || 320);
  const anchor = (note || button).getBoundingClientRect();
  const spaceBelow = window.innerHeight - anchor.bottom - GAP;
  let top = spaceBelow >= height ? anchor.bottom + GAP : anchor.top - GAP - height;
  top = Math.max(8, Math.min(top, window.innerHeight - height - 8));
  const b = button.getBoundingClientRect();
  const left = Math.max(8, Math.min(b.right - width, window.innerWidth - width - 8));
  picker.style.setProperty("--picker-top", top + "px");
  picker.style.setProperty("--picker-left", left + "px");
  picker.style.setProperty("--picker-width", width + "px");
}

export function openPicker(target, button) {
  state.pickerTarget = target;
  opener = button || document.activeElement;
  els.picker.hidden = false;
  els.filter.value = "";
  renderOptions();
  if (button) place(button, target === null ? null : button.closest(".note"));
  if (els.themeButton && target === null) els.themeButton.setAttribute("aria-expanded", "true");
  els.filter.focus();
}

function closePicker() {
  els.picker.hidden = true;
  if (els.themeButton) els.themeButton.setAttribute("aria-expanded", "false");
  if (opener && opener.focus) opener.focus();
  else if (els.text) els.text.focus();
}

function toggleTheme(themeId) {
  if (state.pickerTarget === null) {
    const i = state.chosenThemes.indexOf(themeId);
    if (i >= 0) state.chosenThemes.splice(i, 1); else state.chosenThemes.push(themeId);
    onChosenChange();
  } else {
    const note = state.notes[state.pickerTarget];
    if (!note) return;
    const has = selectedFor(state.pickerTarget).indexOf(themeId) >= 0;
    changeTheme(note, has ? "tag:remove" : "tag:add", themeId);
    note.tags = (note.tags || []).filter((t) => t.theme_id !== themeId);
    if (!has) note.tags.push({ theme_id: themeId, status: "accepted", source: "manual" });
  }
  renderOptions();
}

if (els.filter) {
  els.filter.addEventListener("input", renderOptions);
  els.filter.addEventListener("keydown", (e) => {
    const options = Array.prototype.slice.call(els.options.children);
    let index = options.findIndex((o) => o.classList.contains("active"));
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
  els.filter.addEventListener("blur", () => {
    setTimeout(() => { if (!els.picker.contains(document.activeElement)) els.picker.hidden = true; }, 150);
  });
}
