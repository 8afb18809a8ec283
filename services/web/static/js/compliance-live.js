// The live view of the audit stream: Server-Sent Events from /api/audit/events/stream, each new event
// added at the top of the table as it is stored. The browser resumes after the last event it saw
// (Last-Event-ID); when the server refuses (429: too many streams, or the session ended) it tries again
// later. The filters are the page's own (a GET form, checked by the server, errors next to the fields).
const MAX_ROWS = 500;

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function row(ev) {
  const tr = document.createElement("tr");
  tr.className = "live-new";
  const first = document.createElement("td");
  const link = document.createElement("a");
  link.href = `/compliance/events/${ev.seq}`;
  link.textContent = String(ev.seq);
  link.setAttribute("aria-label", `Event ${ev.seq} in full`);
  first.appendChild(link);
  tr.append(first, cell((ev.occurred_at || "").slice(0, 19).replace("T", " ")), cell(ev.type),
    cell(ev.actor, "wrap-anywhere"), cell(ev.subject, "wrap-anywhere"), cell(ev.correlation_id, "wrap-anywhere"));
  return tr;
}

export default function (section) {
  const rows = section.querySelector("tbody");
  const status = section.querySelector("[data-live-status]");
  const url = new URL(section.dataset.streamUrl, window.location.href);
  let lastId = section.dataset.lastEventId || "";
  let source = null;
  let retry = null;
  let delay = 2000;
  let added = 0;

  function say(text) { status.textContent = text; }

  function connect() {
    if (lastId) url.searchParams.set("last_event_id", lastId);
    source = new EventSource(url.toString());
    source.onopen = () => { delay = 2000; say("Live: new events appear at the top as they are stored."); };
    source.onmessage = (msg) => {
      let ev;
      try { ev = JSON.parse(msg.data); } catch (e) { return; }
      lastId = msg.lastEventId || String(ev.seq);
      rows.insertBefore(row(ev), rows.firstChild);
      while (rows.children.length > MAX_ROWS) rows.removeChild(rows.lastChild);
      added += 1;
      say(`Live: ${added} new event${added === 1 ? "" : "s"} since this page opened.`);
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (not a dropped connection, which the browser retries by itself): try again later.
        say("The live stream is not available right now; trying again…");
        retry = window.setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      } else {
        say("Reconnecting to the live stream…");
      }
    };
  }

  function stop() {
    if (retry) window.clearTimeout(retry);
    if (source) source.close();
  }

  window.addEventListener("pagehide", stop);
  connect();
}
