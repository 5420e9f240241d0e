// The interactive reference of this server's OpenAPI document (Swagger UI).
//
// "Try it out" sends requests to the server this page came from, whatever the
// document's `servers` say (so it works on any port and behind a path prefix), and
// the Content-Security-Policy lets the page talk to no other origin. The userName and
// password entered under "Authorize" stay in this page: nothing is stored, neither in
// the browser (persistAuthorization is off) nor on the server.
"use strict";

(function () {
  // The page is <prefix>/docs, so "." is <prefix>/ and the document <prefix>/openapi.json.
  var base = new URL(".", window.location.href);
  var server = base.href.replace(/\/$/, "");

  function fail(message) {
    var root = document.getElementById("swagger-ui");
    var paragraph = document.createElement("p");
    paragraph.className = "docs-error";
    paragraph.textContent = "Cannot show the API reference: " + message;
    root.replaceChildren(paragraph);
  }

  if (typeof window.SwaggerUIBundle !== "function") {
    fail("the Swagger UI script did not load.");
    return;
  }

  fetch(new URL("openapi.json", base), { headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("GET openapi.json answered " + response.status);
      }
      return response.json();
    })
    .then(function (spec) {
      spec.servers = [{ url: server, description: "This server (the one serving this page)" }];
      window.ui = window.SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: true,
        docExpansion: "list",
        defaultModelsExpandDepth: 1,
        displayOperationId: true,
        displayRequestDuration: true,
        persistAuthorization: false,
        queryConfigEnabled: false,
        validatorUrl: null,
        withCredentials: false,
      });
    })
    .catch(function (error) {
      fail(error.message);
    });
})();
