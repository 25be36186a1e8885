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
    if (value === null || value === undefined) { return "—"; }
    if (format === "money") { return money.format(value).replace("CN¥", "¥"); }
    if (format === "percent") { return (value * 100).toFixed(2) + (locale === "zh-CN" ? "%" : " %"); }
    if (format === "score") { return count.format(Math.round(value * 10) / 10); }
    return count.format(value);
  }

  document.querySelectorAll(".dashboard-chart").forEach(function (box) {
    var canvas = box.querySelector("canvas");
    var script = box.querySelector("script[type='application/json']");
    if (!canvas || !script) { return; }
    var spec = JSON.parse(script.textContent);
    var round = spec.type === "doughnut" || spec.type === "pie";
    var radar = spec.type === "radar";
    var options = spec.options || {};
    function tick(format) {
      return function (v) {
        if (format === "money") { return "¥" + compact.format(v); }
        if (format === "percent") { return (v * 100).toFixed(v < 0.1 ? 1 : 0) + "%"; }
        return compact.format(v);
      };
    }
    var datasets = spec.datasets.map(function (d, i) {
      var colors = round ? spec.labels.map(function (_l, j) { return ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"][j % 8]; }) : d.color;
      var out = { label: d.label, data: d.data, backgroundColor: colors, borderColor: round ? "#fff" : d.color, borderWidth: round ? 1 : 2, fill: false, tension: 0.2, format: d.format };
      if (d.yAxisID && !round) { out.yAxisID = d.yAxisID; }
      if (d.type && !round) { out.type = d.type; }
      if (radar) { out.backgroundColor = d.color + "33"; out.fill = true; out.pointStyle = ["circle", "rect"][i % 2]; out.borderDash = i % 2 ? [6, 3] : []; }
      if (spec.type === "line" || d.type === "line") { out.spanGaps = true; out.pointStyle = ["circle", "rect", "triangle", "rectRot"][i % 4]; out.borderDash = i % 2 ? [6, 3] : []; }
      return out;
    });
    var scales = {};
    if (radar) {
      scales.r = { beginAtZero: true, min: 0, max: 100, ticks: { stepSize: 25, backdropColor: "transparent" } };
    } else if (!round) {
      var firstFormat = spec.datasets.length ? spec.datasets.filter(function (d) { return !d.yAxisID; }).map(function (d) { return d.format; })[0] : "number";
      scales.x = { stacked: spec.stacked };
      if (options.xTitle) { scales.x.title = { display: true, text: options.xTitle }; }
      scales.y = { stacked: spec.stacked, beginAtZero: true, ticks: { callback: tick(firstFormat) } };
      if (spec.y1) {
        var secondFormat = spec.datasets.filter(function (d) { return d.yAxisID; }).map(function (d) { return d.format; })[0];
        scales.y1 = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { callback: tick(secondFormat) } };
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
          tooltip: { callbacks: { label: function (ctx) {
            var value = ctx.parsed && typeof ctx.parsed === "object" ? (radar ? ctx.parsed.r : ctx.parsed.y) : ctx.parsed;
            return ctx.dataset.label + ": " + fmt(ctx.dataset.format, value);
          } } }
        }
      }
    });
  });
})();
