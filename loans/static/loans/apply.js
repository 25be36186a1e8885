/* The public application form: offer only the terms and repayment methods of the chosen
   product (each product option carries data-min-term, data-max-term and data-methods),
   and send the form once (a second click while it is being sent does nothing; the server
   files a form only once anyway). A static file: the Content-Security-Policy allows no
   inline script. */
(function () {
  "use strict";

  function narrow(select, allowed) {
    var firstAllowed = null;
    var selectedAllowed = false;
    Array.prototype.forEach.call(select.options, function (option) {
      var ok = allowed(option.value);
      option.hidden = !ok;
      option.disabled = !ok;
      if (ok && firstAllowed === null) { firstAllowed = option; }
      if (ok && option.selected) { selectedAllowed = true; }
    });
    if (!selectedAllowed && firstAllowed !== null) { firstAllowed.selected = true; }
  }

  function update(form) {
    var product = form.querySelector("select[name=product]");
    if (!product || product.selectedIndex < 0) { return; }
    var chosen = product.options[product.selectedIndex];
    var min = parseInt(chosen.getAttribute("data-min-term"), 10);
    var max = parseInt(chosen.getAttribute("data-max-term"), 10);
    var methods = (chosen.getAttribute("data-methods") || "").split(" ").filter(Boolean);
    var term = form.querySelector("select[name=term_months]");
    if (term && !isNaN(min) && !isNaN(max)) {
      narrow(term, function (value) { var n = parseInt(value, 10); return n >= min && n <= max; });
    }
    var method = form.querySelector("select[name=repayment_method]");
    if (method && methods.length) {
      narrow(method, function (value) { return methods.indexOf(value) !== -1; });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("apply-form");
    if (!form) { return; }
    var product = form.querySelector("select[name=product]");
    if (product) {
      product.addEventListener("change", function () {
        // A new product brings its own purpose (the applicant may still change it).
        var chosen = product.options[product.selectedIndex];
        var purpose = form.querySelector("select[name=purpose]");
        if (purpose && chosen && chosen.getAttribute("data-purpose")) {
          purpose.value = chosen.getAttribute("data-purpose");
        }
        update(form);
      });
    }
    update(form);
    var sending = false;
    window.addEventListener("pageshow", function () { sending = false; });
    form.addEventListener("submit", function (event) {
      if (sending) { event.preventDefault(); return; }
      sending = true;
      var button = document.getElementById("apply-submit");
      if (button) { button.setAttribute("aria-disabled", "true"); }
    });
  });
})();
