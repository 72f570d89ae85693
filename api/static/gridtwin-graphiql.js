// GridTwin's GraphiQL: log in (gridtwin-login.js), then query and subscribe with the token; subscriptions
// travel over the WebSocket (graphql-transport-ws), never as HTTP multipart.  Every script comes from this server.
(function () {
  "use strict";
  var endpoint = window.gridtwinEndpoint;
  var wsUrl = (endpoint.protocol === "https:" ? "wss:" : "ws:") + "//" + endpoint.host + endpoint.pathname;

  window.gridtwinLogin(function (token) {
    var headers = { Authorization: "Bearer " + token };
    var wsClient = graphqlWs.createClient({ url: wsUrl, connectionParams: headers, lazy: true });
    var fetcher = GraphiQL.createFetcher({ url: endpoint.href, headers: headers, wsClient: wsClient });
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, { fetcher: fetcher, defaultQuery: "{ me { username role } }" }));
  });
})();
