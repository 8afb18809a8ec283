// Keeps a status region up to date without reloading the page: every few seconds, fetch this same
// page and swap the region (aria-live announces the change). Stops once the region says it is done.
// Without JavaScript the region has a "Refresh" link.
export default function (region) {
  const id = region.id;
  if (!id) return;
  let delay = 2000;
  const tick = async () => {
    if (region.getAttribute("data-poll-done") === "yes") return;
    try {
      const resp = await fetch(window.location.pathname, { credentials: "same-origin" });
      if (resp.ok) {
        const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
        const fresh = doc.getElementById(id);
        if (fresh) {
          region.innerHTML = fresh.innerHTML;
          region.setAttribute("data-poll-done", fresh.getAttribute("data-poll-done") || "no");
        }
      }
    } catch (err) {
      // the network is gone for a moment: try again later
    }
    delay = Math.min(delay * 1.5, 15000);
    setTimeout(tick, delay);
  };
  setTimeout(tick, delay);
}
