// Starts Swagger UI on /api/docs: a file of its own, because the page's Content-Security-Policy allows no
// inline script. The base layout (no top bar: its URL field had no label, and the document is fixed) and
// no deep links (a link inside each operation's summary button is a control nested in a control).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
