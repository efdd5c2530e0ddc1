// Behaviour the pages share, kept out of the HTML so the Content-Security-Policy
// can forbid inline script.
"use strict";

// A <select data-submit-on-change> submits its form as soon as it changes
// (the language switcher); without script, its <noscript> button does.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.matches("[data-submit-on-change]") && field.form) {
    field.form.submit();
  }
});
