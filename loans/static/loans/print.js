// The repayment plan's "Print" button (no inline script: the page's CSP allows only this site's files).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-plan");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
});
