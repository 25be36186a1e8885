// The periodic task form: the chosen crontab's meaning under its help text (what
// django-celery-beat does with an inline script, which the Content-Security-Policy refuses).
"use strict";
{
  const $ = django.jQuery;
  const readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);
  const originalHelp = document.getElementById("periodic-task-overrides").dataset.crontabHelp || "";
  const updateCrontabHelp = (additional) => {
    const help = $(".field-crontab .help");
    help.text(originalHelp);
    help.append(document.createElement("br"), document.createTextNode(`Translation: ${additional}`));
  };
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(() => updateCrontabHelp(readableCrontabs[$("#id_crontab").val()]));
}
