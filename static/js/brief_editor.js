// Brief editor: the first build, rebuilds, live preview rendered by the server, provenance of bullets, export progress.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const source = document.getElementById("brief-markdown");
  const preview = document.getElementById("brief-preview");
  const dialog = document.getElementById("brief-sources");

  // A draft opened for the first time: build it at once, saying so while it runs, then show the page.
  const building = document.querySelector("form.building");
  if (building && window.fetch) {
    const status = building.querySelector("[role=status]");
    const button = building.querySelector("button[type=submit]");
    const post = () => fetch(building.action, {
      method: "POST", body: new FormData(building), headers: { Accept: "application/json", "X-CSRFToken": csrf },
    });
    const pause = () => new Promise((resolve) => setTimeout(resolve, 1000));
    // The build runs in the background (202) and the page asks until the draft is there. A poll answered by
    // another server process knows no job of this one: posting again builds it there, or finds it built.
    const waitForDraft = async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const response = await post();
        if (response.status !== 202) return response.ok ? "" : `The build failed (${response.status}); try again, or see the server log.`;
        const poll = (await response.json()).status;
        for (;;) {
          await pause();
          const answer = await fetch(poll, { headers: { Accept: "application/json" } });
          if (!answer.ok) return `The build failed (${answer.status}); try again.`;
          const state = await answer.json();
          if (state.built) return "";
          if (state.error) return `The build failed: ${state.error}. Try again.`;
          if (!state.running) break;
        }
      }
      return "The build stopped; try again.";
    };
    const build = async () => {
      building.setAttribute("aria-busy", "true");
      button.disabled = true;
      status.textContent = "Building the draft from the notes… this takes a few seconds.";
      try {
        const failure = await waitForDraft();
        if (!failure) { window.location.reload(); return; }  // the page, now with its draft
        status.textContent = failure;
      } catch (err) {
        status.textContent = "The server could not be reached; try again.";
      }
      building.setAttribute("aria-busy", "false");
      button.disabled = false;
    };
    building.addEventListener("submit", (event) => { event.preventDefault(); build(); });
    build();
  }

  // Rebuild from notes: the rebuild runs in the background (202); the page shows its stage, then the new draft.
  const rebuildForm = document.querySelector("form.rebuild-form");
  const rebuildBox = document.querySelector(".rebuild-progress");
  if (rebuildForm && rebuildBox && window.fetch) {
    const button = rebuildForm.querySelector("button[type=submit]");
    const bar = rebuildBox.querySelector("progress");
    const stage = rebuildBox.querySelector(".rebuild-stage");
    // The job names the stage it finished last: "gather" done means the themes are being synthesized.
    const next = { gather: "synthesizing the themes", synthesize: "writing the sections", sections: "saving the draft" };
    const rebuild = async () => {
      const started = await fetch(rebuildForm.action, {
        method: "POST", body: new FormData(rebuildForm), headers: { Accept: "application/json", "X-CSRFToken": csrf },
      });
      const body = await started.json().catch(() => ({}));
      if (started.status !== 202) return body.error || `The rebuild could not start (${started.status}); try again.`;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const answer = await fetch(body.status, { headers: { Accept: "application/json" } });
        const job = await answer.json().catch(() => ({}));
        if (!answer.ok || job.error) return `The rebuild stopped: ${job.error || answer.status}.`;
        if (job.state === "done") return "";
        bar.max = job.total || 3;
        bar.value = job.done || 0;
        stage.textContent = `Rebuilding the draft from the notes: ${next[job.stage] || "gathering the notes"}…`;
      }
    };
    rebuildForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      button.disabled = true;
      rebuildBox.hidden = false;
      bar.value = 0;
      stage.textContent = "Rebuilding the draft from the notes… this takes a few seconds.";
      try {
        const failure = await rebuild();
        if (!failure) { window.location.assign(rebuildForm.dataset.editor); return; }  // the new draft, and what it kept
        stage.textContent = failure;
      } catch (err) {
        stage.textContent = "The server could not be reached; try again.";
      }
      button.disabled = false;
    });
  }

  // Live preview: debounce typing, post the draft, swap in the server's safe HTML.
  if (source && preview) {
    let timer = null;
    let sent = 0;
    source.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const ticket = ++sent;
        try {
          const response = await fetch(source.dataset.preview, {
            method: "POST",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
            body: JSON.stringify({ markdown: source.value }),
          });
          const body = await response.json();
          if (ticket !== sent) return;  // a newer preview is on its way
          if (body.html !== undefined) preview.innerHTML = body.html;  // rendered with raw HTML disabled
        } catch (err) {
          preview.setAttribute("aria-busy", "false");
        }
      }, 350);
    });
  }

  // Provenance: clicking a generated bullet's lead-in lists the notes it came from.
  if (preview && dialog) {
    preview.addEventListener("click", async (event) => {
      const span = event.target.closest("span[id^='p-'], span[id^='q-'], span[id^='kf-']");
      if (!span) return;
      const url = preview.dataset.sources.replace("BULLET", encodeURIComponent(span.id));
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const list = dialog.querySelector(".source-notes");
      list.replaceChildren();
      if (response.ok) {
        const body = await response.json();
        for (const note of body.notes) {
          const item = document.createElement("li");
          item.textContent = `Session ${note.session} · ${note.kind}${note.role ? " · " + note.role : ""}: ${note.text}`;
          list.appendChild(item);
        }
      } else {
        const item = document.createElement("li");
        item.textContent = "This bullet has no recorded sources (it was written or changed by hand).";
        list.appendChild(item);
      }
      dialog.showModal();
    });
  }

  // Exports: start a background job, show its stage, then download.
  const exportForm = document.querySelector(".export-form");
  const progressBox = document.querySelector(".export-progress");
  if (exportForm && progressBox && window.fetch) {
    exportForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(exportForm);
      data.set("format", event.submitter ? event.submitter.value : "pdf");
      const bar = progressBox.querySelector("progress");
      const stage = progressBox.querySelector(".export-stage");
      progressBox.hidden = false;
      bar.value = 0;
      stage.textContent = "Starting…";
      const started = await fetch(exportForm.dataset.jobs, { method: "POST", body: data, headers: { "X-CSRFToken": csrf } });
      if (!started.ok) { stage.textContent = "Could not start the export."; return; }
      const { status } = await started.json();
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const job = await (await fetch(status, { headers: { Accept: "application/json" } })).json();
        bar.max = job.total;
        bar.value = job.done;
        if (job.error) { stage.textContent = "Export stopped: " + job.error; return; }
        stage.textContent = job.stage === "ready" ? "Done." : `Working: ${job.stage}…`;
        if (job.download) { window.location.href = job.download; return; }
      }
    });
  }
})();
