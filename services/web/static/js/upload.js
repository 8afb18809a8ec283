// Upload progress for a multipart form (data-module="upload"). Without this script the form posts as
// usual; with it the same form goes with XMLHttpRequest, whose upload events drive a <progress>.
// The answer is the page the server would have shown (after its redirect): it replaces this page's
// main content, so the flash message, or the errors next to the fields, show as usual.
export default function upload(form) {
  const box = form.querySelector(".upload-progress");
  const bar = form.querySelector("progress");
  const text = form.querySelector("[data-progress-text]");
  const button = form.querySelector("button[type=submit]");
  if (!box || !bar || !window.FormData) return;

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.responseType = "document";
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.floor((e.loaded / e.total) * 100);
      bar.value = percent;
      bar.textContent = `${percent}%`;
      text.textContent = `Uploaded ${percent}%`;
    });
    xhr.upload.addEventListener("load", () => { text.textContent = "Uploaded 100%, checking the file…"; });
    xhr.addEventListener("load", () => {
      // The answer is the page after the upload (its flash message included) or the form with its
      // errors: either way its main content replaces ours, and the address follows a redirect.
      const fresh = xhr.response && xhr.response.querySelector("main");
      const main = document.querySelector("main");
      if (!fresh || !main) {
        window.location.assign(xhr.responseURL || window.location.href);
        return;
      }
      if (xhr.responseURL && xhr.responseURL !== window.location.href) {
        window.history.replaceState(null, "", xhr.responseURL);
      }
      if (xhr.response.title) document.title = xhr.response.title;
      main.replaceWith(document.importNode(fresh, true));
      const focus = document.querySelector("[data-focus-on-load]") || document.querySelector("main");
      if (focus) focus.focus();
      const again = document.querySelector('form[data-module="upload"]');
      if (again) upload(again);
    });
    xhr.addEventListener("error", () => {
      text.textContent = "The upload failed: check your connection and try again.";
      button.disabled = false;
    });
    box.hidden = false;
    button.disabled = true;
    text.textContent = "Uploaded 0%";
    xhr.send(new FormData(form));
  });
}
