// The export page's "Select all" toggle, bound here instead of an inline onchange attribute
// (Content-Security-Policy); onSelectToggleChange comes from django-import-export's own script.
document.addEventListener("change", (event) => {
  if (event.target.matches("input.select-toggle") && typeof window.onSelectToggleChange === "function") {
    window.onSelectToggleChange(event);
  }
});
