// The customer switch submits itself when another customer is picked (no inline handler:
// the Content-Security-Policy refuses them). Without script the button next to it does.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (select instanceof HTMLSelectElement && select.id === "customer-select" && select.form) {
    select.form.submit();
  }
});
