// Mailed links carry their token after "#", which browsers never send to a server, so it never
// reaches the access log. This moves it into the form (a POST body); a form marked
// data-autosubmit is then sent at once (nothing else to fill in). Without JavaScript the page asks
// for the token to be pasted into the same field.
export default function (form) {
  const token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  if (!token) return;
  history.replaceState(null, "", window.location.pathname);
  const input = form.querySelector("input[name=token]");
  if (!input) return;
  input.value = token;
  if (form.hasAttribute("data-autosubmit")) {
    form.submit();
  } else {
    const field = input.closest(".field");
    if (field) field.hidden = true; // filled in already; the next field is what the person types
    const next = form.querySelector("input[type=password]");
    if (next) next.focus();
  }
}
