// Mailed links carry their token after "#", which browsers never send to a server, so it never
// reaches the access log. This moves it into the form (a POST body) and sends the form.
// Without JavaScript the page shows the same form with a field to paste the token into.
export default function (form) {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const token = params.get("token");
  if (!token) return;
  history.replaceState(null, "", window.location.pathname + window.location.search);
  const input = form.querySelector("input[name=token]");
  if (!input) return;
  input.value = token;
  form.submit();
}
