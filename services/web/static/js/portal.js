// Progressive enhancement for every page; each page works without it.
// - an error summary takes the focus, so a screen reader announces what went wrong;
// - elements with data-module="name" load ./name.js (small modules, no build step).
const summary = document.querySelector("[data-focus-on-load]");
if (summary) summary.focus();

for (const el of document.querySelectorAll("[data-module]")) {
  const name = el.getAttribute("data-module");
  if (/^[a-z-]+$/.test(name)) {
    import(`./${name}.js`).then((mod) => mod.default && mod.default(el)).catch(() => {});
  }
}
