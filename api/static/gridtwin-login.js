// GridTwin's login form (GraphiQL and the twin explorer): logs in over GraphQL and hands the token to
// `start`; the token is kept for this tab only (sessionStorage), so a reload does not ask again.
(function () {
  "use strict";
  window.gridtwinEndpoint = new URL("graphql", new URL("/", window.location.href));
  window.gridtwinLogin = function (start) {
    var form = document.getElementById("login");
    var message = document.getElementById("login-message");
    function begin(token) { form.hidden = true; start(token); }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      message.textContent = "";
      fetch(window.gridtwinEndpoint.href, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          query: "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
          variables: { u: form.elements.username.value, p: form.elements.password.value }
        })
      }).then(function (response) { return response.json(); }).then(function (body) {
        if (body.errors) { message.textContent = body.errors[0].message; return; }
        sessionStorage.setItem("gridtwin-token", body.data.login.token);
        begin(body.data.login.token);
      }).catch(function (error) { message.textContent = String(error); });
    });
    var saved = sessionStorage.getItem("gridtwin-token");
    if (saved) { begin(saved); }
  };
})();
