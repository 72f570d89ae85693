// GridTwin's twin explorer: log in, search twins, see a grid's topology (Cytoscape.js, laid out radially from
// its source, measurement points coloured by their voltage), open a twin's properties, relationships and
// upstream/downstream, and plot a measurement point's voltage: history from InfluxDB (aggregated windows for
// longer ranges, drag to zoom) continued live by the `telemetry` subscription over the WebSocket; for any
// other twin the band (min, mean, max) of the voltages of the points below it, history from the
// `telemetryBelow` query continued live by the `telemetryBelow` subscription.
// Every script comes from this server (gridtwin/browser_assets.py).
(function () {
  "use strict";
  var endpoint = window.gridtwinEndpoint;
  var wsUrl = (endpoint.protocol === "https:" ? "wss:" : "ws:") + "//" + endpoint.host + endpoint.pathname;
  var PHASES = ["phaseA", "phaseB", "phaseC"];
  var RANGES = { "15m": [900, null], "24h": [86400, 60], "7d": [604800, 600] };  // seconds back, window
  var MAX_POINTS = 2000;
  var token, ws, cy, plot, live, selectedPoint;
  var streams = [];  // unsubscribe functions of the selected point's predictions, alerts and run progress

  function $(id) { return document.getElementById(id); }

  function gql(query, variables) {
    return fetch(endpoint.href, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify({ query: query, variables: variables || {} })
    }).then(function (response) { return response.json(); }).then(function (body) {
      if (body.errors) { throw new Error(body.errors[0].message); }
      return body.data;
    });
  }

  function status(text) { $("status").textContent = text; }

  function shortName(typename) { return typename.replace(/Twin$/, "").replace(/V\d+$/, ""); }

  // --- topology -------------------------------------------------------------------------------------

  var TOPOLOGY = "query($id: ID!) { twin(id: $id) { id __typename ... on GridNode { feedsTo { id } } } " +
    "downstream(id: $id, maxDepth: 60) " +
    "{ depth twin { id __typename ... on GridNode { feedsTo { id } } } } }";

  function showTopology(rootId) {
    status("loading the topology below " + rootId + " ...");
    return gql(TOPOLOGY, { id: rootId }).then(function (data) {
      if (!data.twin) { throw new Error("no twin " + rootId); }
      var nodes = [{ data: { id: data.twin.id, label: data.twin.id, kind: shortName(data.twin.__typename), depth: 0 } }];
      var ids = {}; ids[data.twin.id] = true;
      data.downstream.forEach(function (step) {
        ids[step.twin.id] = true;
        nodes.push({ data: { id: step.twin.id, label: step.twin.id, kind: shortName(step.twin.__typename),
                             depth: step.depth } });
      });
      var edges = [];
      [data.twin].concat(data.downstream.map(function (step) { return step.twin; })).forEach(function (twin) {
        (twin.feedsTo || []).forEach(function (target) {
          if (ids[target.id]) { edges.push({ data: { id: twin.id + ">" + target.id, source: twin.id, target: target.id } }); }
        });
      });
      draw(rootId, nodes, edges);
      return colourByVoltage(nodes);
    }).then(function () { status(cy.nodes().length + " twins below " + rootId + "; click one"); })
      .catch(function (error) { status(String(error.message || error)); });
  }

  // A feeder that is mostly a chain (few twins per depth) reads best as layers from the top down with
  // the labels beside the twins; a branched grid as rings round its root, where labels have room.
  var CHAIN_WIDTH = 3;

  function layoutOf(rootId, nodes) {
    var perDepth = {};
    nodes.forEach(function (n) { perDepth[n.data.depth] = (perDepth[n.data.depth] || 0) + 1; });
    var widest = Math.max.apply(null, Object.keys(perDepth).map(function (d) { return perDepth[d]; }));
    if (widest <= CHAIN_WIDTH) {
      return { name: "breadthfirst", roots: [rootId], directed: true, circle: false, spacingFactor: 0.9 };
    }
    return { name: "breadthfirst", roots: [rootId], circle: true, directed: true, spacingFactor: 1.1 };
  }

  function draw(rootId, nodes, edges) {
    if (cy) { cy.destroy(); }
    var layout = layoutOf(rootId, nodes);
    var labels = layout.circle ? { "text-valign": "bottom" } : { "text-valign": "center", "text-halign": "right",
                                                                 "text-margin-x": 4 };
    cy = cytoscape({
      container: $("topology"),
      elements: nodes.concat(edges),
      style: [
        { selector: "node", style: Object.assign({ label: "data(label)", "font-size": 8, width: 14, height: 14,
                                                   "background-color": "#8a96a3" }, labels) },
        { selector: "node[colour]", style: { "background-color": "data(colour)" } },
        { selector: "node[kind = 'GridMeasurementPoint']", style: { shape: "diamond", width: 18, height: 18 } },
        { selector: "node:selected", style: { "border-width": 3, "border-color": "#1f4e9c" } },
        { selector: "edge", style: { width: 1.5, "line-color": "#b8c2cc", "target-arrow-shape": "triangle",
                                     "target-arrow-color": "#b8c2cc", "curve-style": "bezier" } }
      ],
      layout: layout
    });
    cy.on("tap", "node", function (event) { select(event.target.id()); });
    window.gridtwinExplorer.cy = cy;
  }

  function colourByVoltage(nodes) {
    var points = nodes.filter(function (n) { return n.data.kind === "GridMeasurementPoint"; })
      .map(function (n) { return n.data.id; });
    if (!points.length) { return Promise.resolve(); }
    return gql("query($ids: [ID!]!) { latestTelemetry(twinIds: $ids) { twinId name value } }", { ids: points })
      .then(function (data) {
        data.latestTelemetry.forEach(function (latest) {
          if (latest.name !== "voltage" || !latest.value || typeof latest.value.average !== "number") { return; }
          var deviation = Math.abs(latest.value.average / 230 - 1);
          var colour = deviation < 0.03 ? "#2e9d4f" : deviation < 0.07 ? "#e0a526" : "#d23b3b";
          cy.getElementById(latest.twinId).data("colour", colour);
        });
      });
  }

  // --- one twin -------------------------------------------------------------------------------------

  var DETAILS = "query($id: ID!) { twin(id: $id) { id __typename model properties " +
    "relationships(direction: both) { name sourceId targetId } } " +
    "upstream(id: $id) { depth twin { id } } downstream(id: $id) { depth twin { id } } }";

  function select(id) {
    stopLive();
    $("details").textContent = "loading " + id + " ...";
    return gql(DETAILS, { id: id }).then(function (data) {
      if (!data.twin) { $("details").textContent = "no twin " + id; return; }
      renderDetails(data);
      if (cy) { cy.$(":selected").unselect(); cy.getElementById(id).select(); }
      if (/GridMeasurementPoint;/.test(data.twin.model)) { return showPlot(id); }
      return showBelow(id);
    }).catch(function (error) { $("details").textContent = String(error.message || error); });
  }

  function renderDetails(data) {
    var twin = data.twin;
    var box = $("details");
    box.innerHTML = "";
    var title = document.createElement("h2");
    title.textContent = twin.id + " (" + shortName(twin.__typename) + ")";
    var model = document.createElement("p");
    model.textContent = twin.model;
    var properties = document.createElement("pre");
    properties.textContent = JSON.stringify(twin.properties, null, 1);
    var relations = document.createElement("ul");
    twin.relationships.forEach(function (r) {
      var item = document.createElement("li");
      item.textContent = r.sourceId + " —" + r.name + "→ " + r.targetId;
      relations.appendChild(item);
    });
    var around = document.createElement("p");
    around.id = "around";
    around.textContent = data.upstream.length + " twins upstream, " + data.downstream.length + " downstream";
    [title, model, around, properties, relations].forEach(function (e) { box.appendChild(e); });
  }

  // --- plots ----------------------------------------------------------------------------------------

  function showPlot(id) {
    var range = RANGES[$("range").value];
    var from = new Date(Date.now() - range[0] * 1000).toISOString();
    var query = "query($id: ID!, $from: DateTime!, $every: Int) { telemetry(twinId: $id, name: \"voltage\", " +
      "from: $from, everySeconds: $every, first: " + MAX_POINTS + ") { time values } }";
    resetPlot();
    $("point-panel").hidden = false;
    $("plot-title").textContent = id + ": voltage per phase (V)";
    return gql(query, { id: id, from: from, every: range[1] }).then(function (data) {
      var columns = [[]].concat(PHASES.map(function () { return []; }));
      data.telemetry.forEach(function (point) { append(columns, point.time, point.values); });
      makePlot(columns, PHASES);
      startLive(id, columns);
    });
  }

  var BAND = ["min", "mean", "max"];

  function resetPlot() {  // nothing of the last twin's plot may pass for this one's
    if (plot) { plot.destroy(); plot = null; }
    $("plot").innerHTML = "";
    $("plot").dataset.points = "0";
    $("plot").dataset.live = "0";
    $("plot-panel").hidden = false;
  }

  // Below a twin: per window the least, mean and greatest average voltage of its measurement points.
  function showBelow(id) {
    var range = RANGES[$("range").value];
    var from = new Date(Date.now() - range[0] * 1000).toISOString();
    var query = "query($id: ID!, $from: DateTime!, $every: Int!) { " + BAND.map(function (combine) {
      return combine + ": telemetryBelow(twinId: $id, name: \"voltage\", field: \"average\", from: $from, " +
        "everySeconds: $every, perTwin: mean, combine: " + combine + ") { time value twins }";
    }).join(" ") + " }";
    resetPlot();
    $("point-panel").hidden = true;
    $("plot-title").textContent = "below " + id + ": voltage of its measurement points (V; min, mean, max)";
    return gql(query, { id: id, from: from, every: range[1] || 60 }).then(function (data) {
      var columns = [[], [], [], []];
      var byTime = BAND.map(function (combine) {
        var values = {};
        data[combine].forEach(function (point) { values[point.time] = point.value; });
        return values;
      });
      data.mean.forEach(function (point) {
        appendBand(columns, point.time, byTime.map(function (values) { return values[point.time]; }));
      });
      makePlot(columns, BAND);
      startLiveBelow(id, columns);
    });
  }

  function appendBand(columns, time, values) {
    columns[0].push(new Date(time).getTime() / 1000);
    values.forEach(function (value, k) { columns[k + 1].push(typeof value === "number" ? value : null); });
    if (columns[0].length > MAX_POINTS) { columns.forEach(function (c) { c.shift(); }); }
    $("plot").dataset.points = String(columns[0].length);
  }

  function startLiveBelow(id, columns) {
    var received = 0;
    live = socket().subscribe({ query: "subscription($id: ID!) { telemetryBelow(twinId: $id) { samples } }",
                                variables: { id: id } }, {
      next: function (message) {
        var samples = (message.data && message.data.telemetryBelow.samples) || [];
        var volts = samples.map(function (s) { return s.values && s.values.voltage && s.values.voltage.average; })
          .filter(function (v) { return typeof v === "number"; });
        if (!volts.length) { return; }
        var last = samples.map(function (s) { return s.time; }).sort().pop();
        var mean = volts.reduce(function (a, b) { return a + b; }, 0) / volts.length;
        appendBand(columns, last, [Math.min.apply(null, volts), mean, Math.max.apply(null, volts)]);
        received += 1;
        $("plot").dataset.live = String(received);
        plot.setData(columns);
      },
      error: function (error) { status("live telemetry below: " + JSON.stringify(error)); },
      complete: function () {}
    });
  }

  function append(columns, time, values) {
    if (!values) { return; }
    columns[0].push(new Date(time).getTime() / 1000);
    PHASES.forEach(function (phase, k) { columns[k + 1].push(typeof values[phase] === "number" ? values[phase] : null); });
    if (columns[0].length > MAX_POINTS) { columns.forEach(function (c) { c.shift(); }); }
    $("plot").dataset.points = String(columns[0].length);
  }

  function makePlot(columns, labels) {
    if (plot) { plot.destroy(); }
    var box = $("plot");
    box.innerHTML = "";
    plot = new uPlot({
      width: Math.max(box.clientWidth, 320), height: 240,
      series: [{}].concat(labels.map(function (label, k) {
        return { label: label, stroke: ["#1f77b4", "#ff7f0e", "#2ca02c"][k], width: 1.2 };
      })),
      axes: [{}, { label: "V" }], cursor: { drag: { x: true, y: false } }   // drag to zoom, double-click to reset
    }, columns, box);
    box.dataset.points = String(columns[0].length);
  }

  function startLive(id, columns) {
    var received = 0;
    followPoint(id);
    live = socket().subscribe({ query: "subscription($ids: [ID!]!) { telemetry(twinIds: $ids) { samples } }",
                          variables: { ids: [id] } }, {
      next: function (message) {
        ((message.data && message.data.telemetry.samples) || []).forEach(function (sample) {
          append(columns, sample.time, sample.values && sample.values.voltage);
          received += 1;
        });
        $("plot").dataset.live = String(received);
        plot.setData(columns);
      },
      error: function (error) { status("live telemetry: " + JSON.stringify(error)); },
      complete: function () {}
    });
  }

  function stopLive() {
    if (live) { live(); live = null; }
    streams.forEach(function (stop) { stop(); });
    streams = [];
  }

  function socket() {
    ws = ws || graphqlWs.createClient({ url: wsUrl, connectionParams: { Authorization: "Bearer " + token }, lazy: true });
    return ws;
  }

  function stream(query, variables, next) {
    streams.push(socket().subscribe({ query: query, variables: variables }, {
      next: function (message) { if (message.data) { next(message.data); } },
      error: function (error) { status(JSON.stringify(error)); },
      complete: function () {}
    }));
  }

  // --- predictions, alerts, simulations of the selected point --------------------------------------

  var PREDICTED = "twinId time monitoring { voltageAnomaly frequencyForecast } maintenance { overloadRisk " +
    "powerQualityIndex } energy { loadForecast energyLoss }";

  function followPoint(id) {
    selectedPoint = id;
    $("predictions").dataset.received = "0";
    $("alerts").innerHTML = "";
    $("alerts").dataset.received = "0";
    gql("query($ids: [ID!]!) { latestPredictions(twinIds: $ids) { " + PREDICTED + " } }", { ids: [id] })
      .then(function (data) { if (data.latestPredictions.length) { showPredictions(data.latestPredictions[0]); } })
      .catch(function (error) { $("predictions").textContent = String(error.message || error); });
    stream("subscription($ids: [ID!]!) { predictions(twinIds: $ids) { " + PREDICTED + " } }", { ids: [id] },
           function (data) {
             showPredictions(data.predictions);
             $("predictions").dataset.received = String(Number($("predictions").dataset.received) + 1);
           });
    stream("subscription($ids: [ID!]) { alerts(minSeverity: info, twinIds: $ids) { time severity field message } }",
           { ids: [id] }, function (data) {
             var item = document.createElement("li");
             item.textContent = data.alerts.time + " " + data.alerts.severity + ": " + data.alerts.message;
             $("alerts").prepend(item);
             $("alerts").dataset.received = String(Number($("alerts").dataset.received) + 1);
           });
  }

  function showPredictions(found) {
    var lines = [found.time];
    ["monitoring", "maintenance", "energy"].forEach(function (module) {
      var values = found[module] || {};
      Object.keys(values).forEach(function (name) {
        if (typeof values[name] === "number") { lines.push(module + "." + name + " = " + values[name].toFixed(3)); }
      });
    });
    $("predictions").textContent = lines.join("\n");
    $("predictions").style.whiteSpace = "pre";
  }

  var COMMAND = "mutation($id: ID!, $c: String!, $p: JSON) { invokeCommand(twinId: $id, command: $c, payload: $p) }";

  function startSimulation() {
    var point = selectedPoint;
    $("sim-progress").textContent = "starting ...";
    gql(COMMAND, { id: point, c: "startSimulation", p: { scenarioType: $("scenario").value, durationSeconds: 120 } })
      .then(function (data) {
        var run = data.invokeCommand;
        $("sim-progress").dataset.run = run;
        $("sim-progress").textContent = "run " + run + " started";
        stream("subscription($id: ID!) { simulationProgress(id: $id) { runId status stepsDone steps progress } }",
               { id: run }, function (found) {
                 var p = found.simulationProgress;
                 $("sim-progress").dataset.steps = String(p.stepsDone);
                 $("sim-progress").textContent = "run " + p.runId + ": " + p.status + ", " + p.stepsDone + " of " +
                   p.steps + " steps (" + Math.round(100 * p.progress) + " %)";
               });
      }).catch(function (error) { $("sim-progress").textContent = "simulation: " + (error.message || error); });
  }

  function stopSimulation() {
    gql(COMMAND, { id: selectedPoint, c: "stopSimulation", p: null })
      .then(function () { $("sim-progress").textContent += " (stop asked)"; })
      .catch(function (error) { $("sim-progress").textContent = "simulation: " + (error.message || error); });
  }

  // --- search ---------------------------------------------------------------------------------------

  function search() {
    var model = $("search-model").value.trim() || null;
    var property = $("search-property").value.trim();
    var where = property ? [{ property: property, op: "startsWith", value: $("search-value").value }] : null;
    return gql("query($m: String, $w: [PropertyFilter!]) { twins(model: $m, where: $w, first: 50) " +
               "{ totalCount edges { node { id __typename } } } }", { m: model, w: where })
      .then(function (data) {
        var list = $("results");
        list.innerHTML = "";
        data.twins.edges.forEach(function (edge) {
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.href = "#" + encodeURIComponent(edge.node.id);
          link.textContent = edge.node.id + " (" + shortName(edge.node.__typename) + ")";
          link.addEventListener("click", function (event) { event.preventDefault(); select(edge.node.id); });
          item.appendChild(link);
          list.appendChild(item);
        });
        status(data.twins.totalCount + " twins found");
      }).catch(function (error) { status(String(error.message || error)); });
  }

  window.gridtwinExplorer = { select: select, showTopology: showTopology };

  window.gridtwinLogin(function (saved) {
    token = saved;
    $("app").hidden = false;
    $("root").value = new URLSearchParams(window.location.search).get("root") || $("root").value;
    $("show").addEventListener("click", function () { showTopology($("root").value.trim()); });
    $("search").addEventListener("click", search);
    $("sim-start").addEventListener("click", startSimulation);
    $("sim-stop").addEventListener("click", stopSimulation);
    $("range").addEventListener("change", function () {
      var selected = cy && cy.$(":selected");
      if (selected && selected.length) { select(selected.id()); }
    });
    if ($("root").value.trim()) { showTopology($("root").value.trim()); }
  });
})();
