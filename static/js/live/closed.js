/* A session that is not live: paint theme colours, and show notes this device never delivered.
 *
 * A note still in the outbox when the facilitator closed the session can no longer
 * be stored; it stays on this device, visible here, until the writer copies or discards it.
 */
import { el, paintColors } from "./dom.js";
import { Outbox } from "./outbox.js";

paintColors(document);

const root = document.getElementById("session-readonly");
const list = document.getElementById("unsent-notes");
if (root && list) {
  const outbox = new Outbox("roundtable.outbox." + root.dataset.sessionId, () => {}, {
    accepted() {}, changed() {}, stopped() {}, resumed() {}, removed() {}, counted() {},
  });
  const reason = "The session was closed before the server had this note.";

  const render = () => {
    list.textContent = "";
    outbox.items.forEach((item) => {
      const li = el("li", "note pending failed kind-" + item.kind);
      li.id = "note-" + item.uuid;
      const meta = el("div", "note-meta");
      meta.appendChild(el("span", "kind kind-" + item.kind, item.kind));
      const status = el("span", "status", "Not sent: " + (item.failed || reason));
      status.setAttribute("role", "alert");
      meta.appendChild(status);
      li.appendChild(meta);
      li.appendChild(el("p", "note-text", item.text));
      const actions = el("div", "failed-actions");
      const copy = el("button", "link-action", "Copy");
      copy.type = "button";
      copy.addEventListener("click", async () => {
        try { await navigator.clipboard.writeText(item.text); copy.textContent = "Copied"; } catch (e) {
          const range = document.createRange();
          range.selectNodeContents(li.querySelector(".note-text"));
          window.getSelection().removeAllRanges();
          window.getSelection().addRange(range);
          copy.textContent = "Selected: press Ctrl+C";
        }
      });
      const discard = el("button", "link-action", "Discard");
      discard.type = "button";
      discard.addEventListener("click", () => {
        if (window.confirm("Discard this note? It was never sent.")) { outbox.discard(item.uuid); render(); }
      });
      actions.append(copy, discard);
      li.appendChild(actions);
      list.appendChild(li);
    });
    document.getElementById("unsent").hidden = outbox.items.length === 0;
  };
  render();
  // They are what this writer must act on: show them, not the place a reload of the live page left the window.
  if (outbox.items.length) {
    history.scrollRestoration = "manual";
    document.getElementById("unsent").scrollIntoView({ block: "start" });
  }
}
