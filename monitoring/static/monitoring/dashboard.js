/* Draws the equity dashboard's charts with plotly.js (served by us from the plotly package's own file).
   Each chart's numbers are the table beside it, passed in the page as JSON (json_script); a suppressed value
   is null there, so it is left out of the chart and marked "suppressed" beside its group. */
(function () {
  "use strict";

  var INK = "#1d2330";
  var ACCENT = "#1f5fbf";
  var LINE = "#d5dae3";
  var CONFIG = { displayModeBar: false, responsive: true, displaylogo: false };
  var FONT = { family: "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', Arial, sans-serif", color: INK, size: 13 };

  function read(element) {
    return JSON.parse(document.getElementById(element.dataset.source).textContent);
  }

  function signed(value) {
    return (value > 0 ? "+" : value < 0 ? "−" : "") + Math.abs(value).toFixed(1);
  }

  function gaps(element, data) {
    var notes = data.labels.map(function (label, index) {
      return data.notes[index] ? { x: 0, y: label, text: data.notes[index], showarrow: false, xanchor: "left", font: { color: INK, size: 12 } } : null;
    }).filter(Boolean);
    var trace = {
      type: "bar",
      orientation: "h",
      x: data.values,
      y: data.labels,
      text: data.values.map(function (value) { return value === null ? "" : signed(value); }),
      textposition: "outside",
      cliponaxis: false,
      hovertemplate: "%{y}: %{text}<extra></extra>",
      marker: { color: ACCENT }
    };
    // A symmetric axis with room for the labels at the bars' ends: zero (all students) stays in the middle.
    var widest = Math.max.apply(null, data.values.map(function (value) { return Math.abs(value || 0); }).concat([5]));
    var layout = {
      font: FONT,
      height: Math.max(320, 28 * data.labels.length + 90),
      margin: { l: 20, r: 20, t: 10, b: 60 },
      xaxis: {
        title: { text: data.axis },
        range: [-1.35 * widest, 1.35 * widest],
        zeroline: true,
        zerolinecolor: INK,
        zerolinewidth: 2,
        gridcolor: LINE
      },
      yaxis: { autorange: "reversed", automargin: true },
      annotations: notes,
      showlegend: false
    };
    window.Plotly.newPlot(element, [trace], layout, CONFIG);
  }

  function trend(element, data) {
    var trace = {
      type: "scatter",
      mode: "lines+markers",
      x: data.dates,
      y: data.values,
      connectgaps: false,
      line: { color: ACCENT, width: 3 },
      marker: { color: ACCENT, size: 7, symbol: "circle" },
      hovertemplate: "%{x}: %{y}<extra></extra>"
    };
    var layout = {
      font: FONT,
      height: 320,
      margin: { l: 60, r: 20, t: 10, b: 60 },
      xaxis: { type: "date", gridcolor: LINE, tickformat: "%-d %b" },
      yaxis: { title: { text: data.axis }, gridcolor: LINE, rangemode: "tozero" },
      showlegend: false
    };
    window.Plotly.newPlot(element, [trace], layout, CONFIG);
  }

  function draw() {
    if (!window.Plotly) {
      return; // the tables carry every number; without the library there is simply no picture
    }
    var charts = { gaps: gaps, trend: trend };
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var kind = charts[element.dataset.chart];
      if (kind) {
        kind(element, read(element));
        element.dataset.drawn = "true";
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
