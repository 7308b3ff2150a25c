// syncd dashboard: small enhancements; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // "select all" checkbox on the lists
  for (const all of document.querySelectorAll("input.select-all")) {
    all.addEventListener("change", () => {
      for (const box of all.closest("form").querySelectorAll("input[name=id]")) box.checked = all.checked;
    });
  }
  // live progress of a reload or run: poll the job's JSON until it is no longer running
  const job = document.querySelector(".job[data-job]");
  if (job && job.dataset.state === "running") {
    const labels = { running: job.querySelector(".job-state").textContent };
    const poll = async () => {
      let data;
      try {
        const response = await fetch(job.dataset.job, { credentials: "same-origin" });
        if (!response.ok) return setTimeout(poll, 3000);
        data = await response.json();
      } catch (e) { return setTimeout(poll, 3000); }
      const bar = job.querySelector(".job-progress");
      if (bar) { bar.max = data.windows || 1; bar.value = data.windows_done; }
      const windows = job.querySelector(".job-windows");
      if (windows) windows.textContent = `${data.windows_done} / ${data.windows}`;
      job.querySelector(".job-documents").textContent = data.documents;
      if (data.state === "running") {
        job.querySelector(".job-state").textContent = labels.running;
        setTimeout(poll, 1000);
      } else {
        window.location.reload();  // the server renders the translated result
      }
    };
    setTimeout(poll, 500);
  }
});
