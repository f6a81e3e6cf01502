/* Small DOM helpers shared by the live page's modules (no HTML strings: text nodes only). */

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// Colours come from data-color attributes (inline style attributes are blocked by the CSP).
export function paintColors(root) {
  root.querySelectorAll("[data-color]").forEach((node) => {
    const color = node.getAttribute("data-color");
    if (/^#[0-9a-fA-F]{3,8}$/.test(color)) node.style.setProperty("--theme-color", color);
  });
}

export function chipButton(label, aria, onClick) {
  const b = el("button", "chip-button", label);
  b.type = "button";
  b.setAttribute("aria-label", aria);
  b.addEventListener("click", onClick);
  return b;
}

export function timeOf(iso) {
  const d = iso ? new Date(iso) : new Date();
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** "1 person", "3 people": English plurals for counts shown on the page. */
export function plural(count, one, many) {
  return count + " " + (count === 1 ? one : many);
}
