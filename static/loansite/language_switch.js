// The language switch submits itself when a language is picked (without an inline handler,
// which the Content-Security-Policy refuses). Without script the button next to it does.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (select instanceof HTMLSelectElement && select.id === "language-select" && select.form) {
    select.form.submit();
  }
});
