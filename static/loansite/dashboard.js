/* The dashboard's charts: each reads its JSON (json_script) and draws with Chart.js (vendored). */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var lang = (document.documentElement.lang || "en").toLowerCase();
  var locale = lang.indexOf("zh") === 0 ? "zh-CN" : "en-US";
  var money = new Intl.NumberFormat(locale, { style: "currency", currency: "CNY", minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var count = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  var compact = new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 });

  function fmt(format, value) {
    if (format === "money") { return money.format(value).replace("CN¥", "¥"); }
    if (format === "percent") { return (value * 100).toFixed(2) + (locale === "zh-CN" ? "%" : " %"); }
    return count.format(value);
  }

  document.querySelectorAll(".dashboard-chart").forEach(function (box) {
    var canvas = box.querySelector("canvas");
    var script = box.querySelector("script[type='application/json']");
    if (!canvas || !script) { return; }
    var spec = JSON.parse(script.textContent);
    var round = spec.type === "doughnut" || spec.type === "pie";
    var datasets = spec.datasets.map(function (d, i) {
      var colors = round ? spec.labels.map(function (_l, j) { return ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"][j % 8]; }) : d.color;
      var out = { label: d.label, data: d.data, backgroundColor: colors, borderColor: round ? "#fff" : d.color, borderWidth: round ? 1 : 2, fill: false, tension: 0.2, format: d.format };
      if (d.yAxisID && !round) { out.yAxisID = d.yAxisID; }
      if (spec.type === "line") { out.pointStyle = ["circle", "rect", "triangle", "rectRot"][i % 4]; out.borderDash = i % 2 ? [6, 3] : []; }
      return out;
    });
    var scales = {};
    if (!round) {
      var firstFormat = spec.datasets.length ? spec.datasets.filter(function (d) { return !d.yAxisID; }).map(function (d) { return d.format; })[0] : "number";
      scales.x = { stacked: spec.stacked };
      scales.y = { stacked: spec.stacked, beginAtZero: true, ticks: { callback: function (v) { return firstFormat === "money" ? "¥" + compact.format(v) : compact.format(v); } } };
      if (spec.y1) {
        var secondFormat = spec.datasets.filter(function (d) { return d.yAxisID; }).map(function (d) { return d.format; })[0];
        scales.y1 = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { callback: function (v) { return secondFormat === "money" ? "¥" + compact.format(v) : compact.format(v); } } };
      }
    }
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: scales,
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + fmt(ctx.dataset.format, ctx.parsed && typeof ctx.parsed === "object" ? ctx.parsed.y : ctx.parsed); } } }
        }
      }
    });
  });
})();
