// Draws the North Star charts from data the page embeds with json_script; without
// JavaScript the table next to each chart stays open instead.
(function () {
  "use strict";

  function drawCharts() {
    if (!window.Chart) return;
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
            tension: 0.2,
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

  document.addEventListener("DOMContentLoaded", drawCharts);
  document.addEventListener("htmx:afterSettle", drawCharts);
})();
