// The drafting page: poll the run's progress while it is running; reload when it ends.
(function () {
  const box = document.getElementById("drafting-run");
  if (!box) return;
  const bar = box.querySelector("progress");
  const label = box.querySelector(".drafting-state");
  let wasRunning = false;
  async function poll() {
    let job;
    try {
      job = await (await fetch(box.dataset.status, { headers: { Accept: "application/json" } })).json();
    } catch (err) {
      setTimeout(poll, 3000);
      return;
    }
    const running = job.state === "queued" || job.state === "running";
    if (job.state !== "idle") {
      bar.max = job.total || 1;
      bar.value = job.done;
      label.textContent = `${job.state}${job.step ? ": " + job.step : ""} (${job.done}/${job.total})` +
        (job.message ? `. ${job.message}` : "");
    }
    if (running) {
      wasRunning = true;
      setTimeout(poll, 1000);
    } else if (wasRunning) {
      window.location.reload();
    }
  }
  poll();
})();
