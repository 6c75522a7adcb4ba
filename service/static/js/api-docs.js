// Starts Swagger UI on /schema with the service's own OpenAPI document (no inline script, no CDN).
(function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    // "Try it out" runs with the signed-in session; the cookie goes only to this site.
    requestInterceptor: function (request) {
      request.credentials = "same-origin";
      return request;
    },
  });
})();
