// GridTwin's GraphiQL: log in, then query and subscribe with the token; subscriptions travel over the
// WebSocket (graphql-transport-ws), never as HTTP multipart.  Every script comes from this server.
(function () {
  "use strict";
  var endpoint = new URL("graphql", new URL("/", window.location.href));
  var wsUrl = (endpoint.protocol === "https:" ? "wss:" : "ws:") + "//" + endpoint.host + endpoint.pathname;
  var form = document.getElementById("login");
  var message = document.getElementById("login-message");

  function start(token) {
    var headers = { Authorization: "Bearer " + token };
    var wsClient = graphqlWs.createClient({ url: wsUrl, connectionParams: headers, lazy: true });
    var fetcher = GraphiQL.createFetcher({ url: endpoint.href, headers: headers, wsClient: wsClient });
    form.hidden = true;
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, { fetcher: fetcher, defaultQuery: "{ me { username role } }" }));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    message.textContent = "";
    fetch(endpoint.href, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        query: "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
        variables: { u: form.elements.username.value, p: form.elements.password.value }
      })
    }).then(function (response) { return response.json(); }).then(function (body) {
      if (body.errors) { message.textContent = body.errors[0].message; return; }
      sessionStorage.setItem("gridtwin-token", body.data.login.token);
      start(body.data.login.token);
    }).catch(function (error) { message.textContent = String(error); });
  });

  var saved = sessionStorage.getItem("gridtwin-token");
  if (saved) { start(saved); }
})();
