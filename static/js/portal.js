// The portal's small amount of JavaScript. Every page works without it: the charts have a
// table beside them, and the main navigation is a <details> menu that opens by itself.
(function () {
  "use strict";

  // Chart.js defaults, set once for every chart the portal draws. Monotone interpolation
  // keeps a curve between its points: a smoothed line must never rise above two equal weeks
  // or dip below the lower of two neighbours, or the chart shows values nobody measured.
  function setChartDefaults() {
    if (!window.Chart || window.Chart.defaults.portalDefaults) return;
    var line = window.Chart.defaults.elements.line;
    line.tension = 0;
    line.cubicInterpolationMode = "monotone";
    window.Chart.defaults.portalDefaults = true;
  }

  function drawCharts() {
    if (!window.Chart) return;
    setChartDefaults();
    document.querySelectorAll("canvas[data-chart-source]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chartSource);
      if (!source || canvas.dataset.drawn) return;
      var points = JSON.parse(source.textContent);
      canvas.dataset.drawn = "1";
      canvas.parentElement.hidden = false;
      var table = document.getElementById(canvas.dataset.chartTable || "");
      if (table) table.open = false;
      new window.Chart(canvas, {
        type: "line",
        data: {
          labels: points.map(function (p) { return p.date; }),
          datasets: [{
            label: canvas.dataset.chartLabel || "",
            data: points.map(function (p) { return p.value; }),
            pointRadius: 2
          }]
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: false } },
          // Level labels, thinned out, so that narrow cards do not clip rotated dates.
          scales: { x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 5 } } }
        }
      });
    });
  }

  // On a wide screen the main navigation is a plain row of links. Browsers that can style
  // ::details-content show it with CSS alone; this keeps the row open in those that cannot.
  var wide = window.matchMedia("(min-width: 768px)");
  function openNavOnWideScreens() {
    if (!wide.matches) return;
    document.querySelectorAll("details.nav-menu").forEach(function (menu) {
      menu.open = true;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    openNavOnWideScreens();
    drawCharts();
  });
  wide.addEventListener("change", openNavOnWideScreens);
  document.addEventListener("htmx:afterSettle", drawCharts);
})();
