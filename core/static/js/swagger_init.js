// Starts Swagger UI on /api/docs; the spec URL and options come in data-* attributes (no inline script: CSP).
(function () {
  var box = document.getElementById('swagger-ui-container');
  var config = {url: box.dataset.specUrl, dom_id: '#swagger-ui-container'};
  var extra = JSON.parse(box.dataset.config || '{}');
  for (var key in extra) { if (Object.prototype.hasOwnProperty.call(extra, key)) { config[key] = extra[key]; } }
  window.ui = SwaggerUIBundle(config);
})();
