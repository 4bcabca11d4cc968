// The back office's keyboard and tick-box conveniences. Only admin pages load this file (the
// shop's pages never do), and every action it speeds up is a plain link or form without it.

const SECTIONS = {
  d: "/admin",
  o: "/admin/orders",
  p: "/admin/products",
  c: "/admin/collections",
  i: "/admin/inventory",
};
// "g" then a letter within this many milliseconds goes to a section.
const CHORD_MS = 1500;
let chordStarted = 0;

function isTyping(target) {
  return target instanceof Element && target.closest("input, textarea, select, [contenteditable]") !== null;
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  if (isTyping(event.target)) {
    if (event.key === "Escape" && event.target.id === "admin-q") event.target.blur();
    return;
  }
  if (event.key === "/") {
    const search = document.getElementById("admin-q");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
    return;
  }
  if (event.key === "?") {
    const help = document.getElementById("shortcuts");
    if (help) {
      help.open = !help.open;
      if (help.open) help.querySelector("summary")?.focus();
    }
    return;
  }
  if (chordStarted && Date.now() - chordStarted < CHORD_MS && SECTIONS[event.key]) {
    event.preventDefault();
    chordStarted = 0;
    window.location.assign(SECTIONS[event.key]);
    return;
  }
  chordStarted = event.key === "g" ? Date.now() : 0;
});

// A table whose header has a "tick every row" box: show it, keep it and the count in step.
for (const all of document.querySelectorAll("[data-select-all]")) {
  const table = all.closest("table");
  const form = all.closest("form");
  const count = form?.querySelector("[data-bulk-count]");
  const boxes = () => [...table.querySelectorAll("tbody input[type=checkbox]")];
  const update = () => {
    const ticked = boxes().filter((box) => box.checked).length;
    all.checked = ticked > 0 && ticked === boxes().length;
    all.indeterminate = ticked > 0 && ticked < boxes().length;
    if (count) count.textContent = ticked === 0 ? "" : `${ticked} ticked`;
  };
  all.hidden = false;
  all.addEventListener("change", () => {
    for (const box of boxes()) box.checked = all.checked;
    update();
  });
  table.addEventListener("change", (event) => {
    if (event.target !== all) update();
  });
  update();
}

// Deleting asks first (without JavaScript the button deletes at once, as a form does).
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-confirm]") : null;
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

// Pictures in a `[data-sortable]` list are dragged into order; the drop renumbers their
// position fields and saves (the numbers work alone, without this).
for (const list of document.querySelectorAll("[data-sortable]")) {
  let dragged = null;
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("li");
    if (event.dataTransfer) event.dataTransfer.effectAllowed = "move";
  });
  list.addEventListener("dragover", (event) => {
    if (dragged) event.preventDefault();
  });
  list.addEventListener("drop", (event) => {
    const target = event.target instanceof Element ? event.target.closest("li") : null;
    if (!dragged || !target || target === dragged) return;
    event.preventDefault();
    const items = [...list.children];
    const before = items.indexOf(dragged) > items.indexOf(target) ? target : target.nextSibling;
    list.insertBefore(dragged, before);
    [...list.querySelectorAll("input[name^='position.']")].forEach((input, index) => {
      input.value = String(index + 1);
    });
    dragged = null;
    list.closest("form")?.requestSubmit();
  });
}

// The dashboard follows the shop: the server says "changed" over /admin/events whenever orders
// or stock move, and the page is fetched again and its dashboard swapped in.
async function freshCopyOf(selector) {
  const response = await fetch(window.location.href, { headers: { accept: "text/html" } });
  if (!response.ok) return null;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  return page.querySelector(selector);
}

// The support inbox and a conversation follow new messages the same way: each section marked
// `data-live-section` is swapped for its fresh copy, in the page's order.
const LIVE = "[data-live-dashboard], [data-live-section]";
if (document.querySelector(LIVE)) {
  let running = false;
  let again = false;
  let retries = 0;
  const refresh = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    let failed = false;
    try {
      do {
        again = false;
        const response = await fetch(window.location.href, {
          headers: { accept: "text/html" },
          cache: "no-store",
        });
        if (!response.ok) {
          failed = true;
          break;
        }
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.querySelectorAll(LIVE);
        document.querySelectorAll(LIVE).forEach((current, i) => {
          if (!fresh[i]) return;
          fresh[i].dataset.live = current.dataset.live;
          current.replaceWith(fresh[i]);
        });
      } while (again);
    } catch {
      failed = true;
    } finally {
      running = false;
    }
    // A failed fetch would leave the change unseen until the next one: try again shortly, a
    // few times (a signed-out page keeps failing).
    if (failed && retries < 5) {
      retries += 1;
      setTimeout(refresh, 2000);
    } else if (!failed) {
      retries = 0;
    }
  };
  const mark = (live) => document.querySelectorAll(LIVE).forEach((s) => (s.dataset.live = live));
  const events = new EventSource("/admin/events");
  // The page was rendered before the stream opened, and while the stream is down (the browser
  // reconnects by itself) changes go unannounced: each opening fetches the page once, so a
  // change made in between is never missed.
  events.addEventListener("open", () => {
    mark("true");
    refresh();
  });
  events.addEventListener("error", () => mark("false"));
  events.addEventListener("changed", refresh);
}

// An import under way: its progress is fetched again every half second until it finishes.
if (document.querySelector("[data-import-progress][data-finished='false']")) {
  const follow = async () => {
    try {
      const fresh = await freshCopyOf("[data-import-progress]");
      const current = document.querySelector("[data-import-progress]");
      if (fresh && current) current.replaceWith(fresh);
      if (fresh?.dataset.finished === "true") return;
    } catch {
      // A failed look keeps the last answer; the next one tries again.
    }
    setTimeout(follow, 500);
  };
  setTimeout(follow, 500);
}
