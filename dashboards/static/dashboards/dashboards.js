// Dashboards: charts are inline SVG from the server. "Interactive" swaps one for the same
// Vega-Lite spec drawn by the vendored vega-embed bundle (loaded only when first asked for).
(function () {
  "use strict";
  let bundle = null;

  function loadBundle() {
    if (window.vegaEmbed) return Promise.resolve();
    if (bundle) return bundle;
    const url = JSON.parse(document.getElementById("vega-bundle-url").textContent);
    bundle = new Promise(function (resolve, reject) {
      const script = document.createElement("script");
      script.src = url;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
    return bundle;
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-interactive]");
    if (!button) return;
    const id = button.getAttribute("data-interactive");
    const spec = JSON.parse(document.getElementById(id).textContent);
    const target = document.getElementById("chart-" + id);
    // Fit the chart to its box, as the server's SVG does.
    spec.width = Math.max(200, target.clientWidth);
    spec.autosize = { type: "fit", contains: "padding" };
    button.disabled = true;
    loadBundle().then(function () {
      return window.vegaEmbed(target, spec, { renderer: "svg", actions: false });
    }).then(function () {
      button.textContent = "Interactive ✓";
    }).catch(function () {
      button.disabled = false;
    });
  });
})();
