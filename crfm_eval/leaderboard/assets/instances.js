// The instance viewer (instances.html): any run's request states, from the data files the build
// wrote (crfm_eval/leaderboard/run_data.py). Filter to wrong answers, search by instance id or
// text, sort, and open an instance to see its exact prompt, completions and values.
//
// Every piece of data is put in the page as text (textContent, createTextNode, new Option):
// model output and data set text can hold HTML, and here it can never become markup.
// Data files are loaded with script elements (they call crfmEval.receive), which also works for a
// site opened from disk, where fetch() is refused. Only files listed in data/runs.js are loaded:
// the run named in the URL is looked up there, never turned into a path.
(function () {
  "use strict";

  var PAGE = 500; // rows rendered at a time; "Show more" adds the next ones

  var pending = {};
  window.crfmEval = window.crfmEval || {};
  window.crfmEval.receive = function (message) {
    var key = message.kind + "|" + (message.run || message.hash || "") + "|" + (message.shard === undefined ? "" : message.shard);
    var waiting = pending[key];
    if (waiting) {
      delete pending[key];
      waiting.resolve(message.data);
    }
  };

  function load(root, path, key) {
    return new Promise(function (resolve, reject) {
      pending[key] = { resolve: resolve };
      var script = document.createElement("script");
      script.src = root + path;
      script.onerror = function () {
        delete pending[key];
        reject(new Error("cannot load " + path));
      };
      script.onload = function () {
        script.remove();
        if (pending[key]) {
          delete pending[key];
          reject(new Error(path + " holds other data than expected"));
        }
      };
      document.head.appendChild(script);
    });
  }

  var cache = {};
  function loadOnce(root, path, key) {
    if (!cache[key]) cache[key] = load(root, path, key);
    return cache[key];
  }

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") node.textContent = attributes[name];
      else if (name === "className") node.className = attributes[name];
      else node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function short(text, limit) {
    if (text === null || text === undefined) return "";
    text = String(text);
    return text.length <= limit ? text : text.slice(0, limit - 1) + "\u2026";
  }

  function format(value) {
    if (value === null || value === undefined) return "\u2014";
    if (Number.isInteger(value)) return String(value);
    return Number(value).toFixed(Math.abs(value) >= 100 ? 1 : 4);
  }

  function params() {
    var query = new URLSearchParams(window.location.search);
    return {
      run: query.get("run") || "",
      metric: query.get("metric") || "",
      split: query.get("split") || "",
      part: query.get("part") || "",
      wrong: query.get("wrong") === "1",
      q: query.get("q") || "",
      sort: query.get("sort") || "order",
      desc: query.get("desc") === "1",
      open: query.get("open"),
      id: query.get("id") || "",
    };
  }

  function Viewer(container) {
    this.container = container;
    this.root = container.getAttribute("data-root") || "";
    this.state = params();
    this.shown = PAGE;
    this.controls = container.querySelector(".crfm-viewer-controls");
    this.status = container.querySelector(".crfm-viewer-status");
    this.table = container.querySelector("table.crfm-viewer-table");
  }

  Viewer.prototype.fail = function (message) {
    this.status.textContent = message;
    this.status.classList.add("crfm-error");
  };

  Viewer.prototype.start = function () {
    var self = this;
    loadOnce(this.root, "data/runs.js", "runs||")
      .then(function (data) {
        self.runs = data.runs;
        self.buildRunChooser();
        var run = self.runs.find(function (item) { return item.key === self.state.run; });
        if (!run) {
          self.status.textContent = self.state.run
            ? "There is no run " + self.state.run + " on this site; choose one."
            : "Choose a run.";
          return;
        }
        return self.showRun(run);
      })
      .catch(function (error) { self.fail("The viewer's data could not be loaded: " + error.message); });
  };

  Viewer.prototype.buildRunChooser = function () {
    var self = this;
    var select = this.controls.querySelector("select[name=run]");
    select.textContent = "";
    select.appendChild(new Option("\u2014 choose a run \u2014", ""));
    var byScenario = {};
    this.runs.forEach(function (run) { (byScenario[run.scenario] = byScenario[run.scenario] || []).push(run); });
    Object.keys(byScenario).sort().forEach(function (scenario) {
      var group = el("optgroup", { label: scenario });
      byScenario[scenario].forEach(function (run) {
        group.appendChild(new Option(run.label + " (" + run.key + ")", run.key, false, run.key === self.state.run));
      });
      select.appendChild(group);
    });
    select.addEventListener("change", function () {
      self.state = { run: select.value, metric: "", split: "", part: "", wrong: false, q: "", sort: "order", desc: false, open: null, id: "" };
      self.updateUrl();
      var run = self.runs.find(function (item) { return item.key === select.value; });
      if (run) self.showRun(run);
    });
  };

  Viewer.prototype.showRun = function (run) {
    var self = this;
    this.run = run;
    this.status.textContent = "Loading " + run.key + "\u2026";
    return Promise.all([
      loadOnce(this.root, run.data + "/list.js", "list|" + run.key + "|"),
      loadOnce(this.root, run.instances, "instances|" + run.hash + "|"),
    ]).then(function (loaded) {
      self.list = loaded[0];
      self.instances = loaded[1];
      self.prepareItems();
      self.buildControls();
      if (self.state.id) self.revealId(self.state.id);
      self.render();
    }).catch(function (error) { self.fail("This run's data could not be loaded: " + error.message); });
  };

  // One item per (instance, train trial); several request states of one item (e.g. one per answer
  // choice) are shown together.
  Viewer.prototype.prepareItems = function () {
    var items = [];
    var byKey = {};
    var instances = this.instances;
    this.list.rows.forEach(function (row, index) {
      var key = row[0] + "|" + row[1];
      var item = byKey[key];
      if (!item) {
        var references = instances.references[row[0]] || [];
        item = byKey[key] = {
          order: items.length,
          instance: row[0],
          id: instances.ids[row[0]],
          split: instances.splits[row[0]],
          part: instances.sub_splits ? instances.sub_splits[row[0]] : null,
          input: instances.inputs[row[0]] || "",
          references: references,
          expected: references.filter(function (ref) { return (ref[1] || []).indexOf("correct") >= 0; })
            .map(function (ref) { return ref[0]; }).join(" | "),
          trial: row[1],
          prediction: row[2],
          values: row[3],
          states: [],
        };
        items.push(item);
      }
      item.states.push(index);
    });
    this.items = items;
  };

  Viewer.prototype.metricIndex = function (name) {
    return this.list.metrics.indexOf(name);
  };

  // The metric that says right or wrong: the chosen one when it is 0/1, else the run's primary.
  Viewer.prototype.judge = function () {
    var binary = this.list.binary;
    if (binary.indexOf(this.state.metric) >= 0) return this.state.metric;
    if (binary.indexOf(this.run.primary) >= 0) return this.run.primary;
    return binary.length ? binary[0] : null;
  };

  Viewer.prototype.buildControls = function () {
    var self = this;
    var metrics = this.list.metrics;
    if (metrics.indexOf(this.state.metric) < 0) {
      this.state.metric = metrics.indexOf(this.run.primary) >= 0 ? this.run.primary : (this.list.binary[0] || metrics[0] || "");
    }
    var metricSelect = this.controls.querySelector("select[name=metric]");
    metricSelect.textContent = "";
    metrics.forEach(function (name) { metricSelect.appendChild(new Option(name, name, false, name === self.state.metric)); });
    var splitSelect = this.controls.querySelector("select[name=split]");
    splitSelect.textContent = "";
    splitSelect.appendChild(new Option("all splits", ""));
    var splits = Array.from(new Set(this.instances.splits)).sort();
    splits.forEach(function (split) { splitSelect.appendChild(new Option(split, split, false, split === self.state.split)); });
    // Parts of a split (e.g. MMLU's subjects): the control shows only for runs whose instances have them.
    var partSelect = this.controls.querySelector("select[name=part]");
    partSelect.textContent = "";
    partSelect.appendChild(new Option("all parts", ""));
    var parts = Array.from(new Set((this.instances.sub_splits || []).filter(function (part) { return part !== null && part !== undefined; }))).sort();
    parts.forEach(function (part) { partSelect.appendChild(new Option(part, part, false, part === self.state.part)); });
    partSelect.closest("label").hidden = parts.length === 0;
    if (parts.indexOf(this.state.part) < 0) this.state.part = "";
    var wrong = this.controls.querySelector("input[name=wrong]");
    wrong.checked = this.state.wrong;
    var search = this.controls.querySelector("input[name=q]");
    search.value = this.state.q;
    if (this.wired) return;
    this.wired = true;
    var timer = null;
    metricSelect.addEventListener("change", function () { self.state.metric = metricSelect.value; self.refresh(); });
    splitSelect.addEventListener("change", function () { self.state.split = splitSelect.value; self.refresh(); });
    partSelect.addEventListener("change", function () { self.state.part = partSelect.value; self.refresh(); });
    wrong.addEventListener("change", function () { self.state.wrong = wrong.checked; self.refresh(); });
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { self.state.q = search.value; self.refresh(); }, 150);
    });
    Array.prototype.forEach.call(this.table.tHead.rows[0].cells, function (header) {
      var column = header.getAttribute("data-column");
      if (!column) return;
      header.setAttribute("role", "button");
      header.setAttribute("tabindex", "0");
      var sort = function () {
        self.state.desc = self.state.sort === column ? !self.state.desc : column === "value";
        self.state.sort = column;
        self.refresh();
      };
      header.addEventListener("click", sort);
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });
  };

  Viewer.prototype.refresh = function () {
    this.shown = PAGE;
    this.state.open = null;
    this.render();
  };

  Viewer.prototype.updateUrl = function () {
    var query = new URLSearchParams();
    var state = this.state;
    if (state.run) query.set("run", state.run);
    if (state.metric) query.set("metric", state.metric);
    if (state.split) query.set("split", state.split);
    if (state.part) query.set("part", state.part);
    if (state.wrong) query.set("wrong", "1");
    if (state.q) query.set("q", state.q);
    if (state.sort && state.sort !== "order") query.set("sort", state.sort);
    if (state.desc) query.set("desc", "1");
    if (state.open !== null && state.open !== undefined) query.set("open", String(state.open));
    var search = query.toString();
    window.history.replaceState(null, "", window.location.pathname + (search ? "?" + search : ""));
  };

  Viewer.prototype.isWrong = function (item) {
    var judge = this.judge();
    if (judge === null) return false;
    var value = item.values[this.metricIndex(judge)];
    return value === null || value === undefined || value < 1;
  };

  Viewer.prototype.matches = function (item, needle) {
    if (!needle) return true;
    return [item.id, item.input, item.prediction || "", item.expected].some(function (text) {
      return String(text).toLowerCase().indexOf(needle) >= 0;
    });
  };

  Viewer.prototype.selected = function () {
    var self = this;
    var state = this.state;
    var needle = state.q.trim().toLowerCase();
    var valueIndex = this.metricIndex(state.metric);
    var chosen = this.items.filter(function (item) {
      return (!state.split || item.split === state.split) && (!state.part || item.part === state.part) && (!state.wrong || self.isWrong(item)) && self.matches(item, needle);
    });
    var key = {
      order: function (item) { return item.order; },
      id: function (item) { return item.id; },
      trial: function (item) { return item.trial; },
      value: function (item) { return item.values[valueIndex]; },
      prediction: function (item) { return item.prediction || ""; },
    }[state.sort] || function (item) { return item.order; };
    chosen.sort(function (a, b) {
      var x = key(a), y = key(b);
      if (x === null || x === undefined) return (y === null || y === undefined) ? a.order - b.order : 1;
      if (y === null || y === undefined) return -1;
      var order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
      return (state.desc ? -order : order) || a.order - b.order;
    });
    return chosen;
  };

  Viewer.prototype.render = function () {
    var self = this;
    var state = this.state;
    this.updateUrl();
    var chosen = this.selected();
    var judge = this.judge();
    var valueIndex = this.metricIndex(state.metric);
    var judgeIndex = judge === null ? -1 : this.metricIndex(judge);
    this.controls.querySelector(".crfm-wrong-label").textContent =
      "only wrong answers" + (judge ? " (" + judge + " below 1)" : "");
    Array.prototype.forEach.call(this.table.tHead.rows[0].cells, function (header) {
      var column = header.getAttribute("data-column");
      if (column === "value") header.textContent = state.metric || "value";
      if (column) header.setAttribute("aria-sort", column === state.sort ? (state.desc ? "descending" : "ascending") : "none");
    });
    var body = this.table.tBodies[0];
    body.textContent = "";
    chosen.slice(0, this.shown).forEach(function (item) {
      var value = item.values[valueIndex];
      var verdict = judgeIndex < 0 ? null : item.values[judgeIndex];
      var mark = verdict === null || verdict === undefined ? "no score" : verdict >= 1 ? "\u2713" : "\u2717";
      var markClass = verdict === null || verdict === undefined ? "crfm-unscored" : verdict >= 1 ? "crfm-right" : "crfm-wrong";
      var link = el("a", { href: "#", className: "crfm-open", text: item.id });
      var row = el("tr", { "data-instance-id": item.id, "data-order": String(item.order), className: "crfm-item " + markClass }, [
        el("td", { text: String(item.order + 1) }),
        el("td", {}, [el("span", { className: "crfm-mark " + markClass, text: mark })]),
        el("td", {}, [link]),
        el("td", { text: item.split || "" }),
        el("td", { text: String(item.trial) }),
        el("td", { className: "crfm-value", text: format(value) }),
        el("td", {}, [el("code", { text: short(JSON.stringify(item.prediction === null ? null : item.prediction), 60) })]),
        el("td", {}, [el("code", { text: short(item.expected, 40) })]),
        el("td", { className: "crfm-snippet", text: short(item.input, 120) }),
      ]);
      link.addEventListener("click", function (event) {
        event.preventDefault();
        self.toggle(item, row);
      });
      body.appendChild(row);
      if (String(state.open) === String(item.order)) self.toggle(item, row, true);
    });
    var more = this.container.querySelector(".crfm-more");
    more.hidden = chosen.length <= this.shown;
    more.textContent = "Show " + Math.min(PAGE, chosen.length - this.shown) + " more";
    more.onclick = function () { self.shown += PAGE; self.render(); };
    this.status.classList.remove("crfm-error");
    this.status.textContent = chosen.length + " of " + this.items.length + " instances shown" +
      (chosen.length > this.shown ? " (the first " + this.shown + " listed)" : "") + ". Run: " + this.run.label +
      " (" + this.run.key + ").";
    var runLink = this.container.querySelector(".crfm-run-link");
    runLink.setAttribute("href", this.root + this.run.page);
    runLink.hidden = false;
  };

  // With ?id=..., show that instance whatever the filters: clear them and open it.
  Viewer.prototype.revealId = function (id) {
    var item = this.items.find(function (candidate) { return candidate.id === id; });
    this.state.id = "";
    if (!item) {
      this.fail("Instance " + id + " is not in this run.");
      return;
    }
    this.state.q = "";
    this.state.wrong = false;
    this.state.split = "";
    this.state.part = "";
    this.state.open = item.order;
    this.shown = Math.max(this.shown, item.order + 1);
    this.buildControls();
  };

  Viewer.prototype.toggle = function (item, row, keep) {
    var next = row.nextElementSibling;
    if (next && next.classList.contains("crfm-detail-row")) {
      if (keep) return;
      next.remove();
      this.state.open = null;
      this.updateUrl();
      return;
    }
    var cell = el("td", { colspan: "9" }, [el("p", { text: "Loading\u2026" })]);
    var detailRow = el("tr", { className: "crfm-detail-row" }, [cell]);
    row.parentNode.insertBefore(detailRow, row.nextSibling);
    this.state.open = item.order;
    this.updateUrl();
    var self = this;
    var size = this.list.shard_size;
    var shards = Array.from(new Set(item.states.map(function (index) { return Math.floor(index / size); })));
    Promise.all(shards.map(function (number) {
      return loadOnce(self.root, self.run.data + "/shard-" + number + ".js", "shard|" + self.run.key + "|" + number);
    })).then(function (loaded) {
      var byNumber = {};
      shards.forEach(function (number, position) { byNumber[number] = loaded[position]; });
      cell.textContent = "";
      cell.appendChild(self.details(item, byNumber));
      // A prompt ends with the instance asked (its in-context examples come first): show that end.
      cell.querySelectorAll("pre.crfm-prompt").forEach(function (element) { element.scrollTop = element.scrollHeight; });
      if (keep) row.scrollIntoView({ block: "start" });
    }).catch(function (error) {
      cell.textContent = "";
      cell.appendChild(el("p", { className: "crfm-error", text: "Could not load this instance: " + error.message }));
    });
  };

  function pre(text) {
    return el("pre", { className: "crfm-text" }, [String(text === null || text === undefined ? "" : text)]);
  }

  function keyValueTable(pairs) {
    var table = el("table", { "data-compact": "1" }, [el("thead", {}, [el("tr", {}, [el("th", { text: "field" }), el("th", { text: "value" })])])]);
    var body = el("tbody");
    pairs.forEach(function (pair) {
      var value = typeof pair[1] === "number" ? format(pair[1]) : JSON.stringify(pair[1]);
      body.appendChild(el("tr", {}, [el("td", {}, [el("code", { text: pair[0] })]), el("td", {}, [el("code", { text: String(value) })])]));
    });
    table.appendChild(body);
    return table;
  }

  function promptText(parts, prefixes, input) {
    var start = parts[0] >= 0 ? prefixes[parts[0]] : "";
    return parts.length === 3 ? start + parts[1] + input + parts[2] : start + parts[1];
  }

  Viewer.prototype.details = function (item, shards) {
    var self = this;
    var size = this.list.shard_size;
    var box = el("div", { className: "crfm-instance", "data-instance-id": item.id });
    box.appendChild(el("p", {}, [el("strong", { text: "Input" }), " (instance " + item.id + ", split " + item.split + (item.part ? ", part " + item.part : "") + ", train trial " + item.trial + ")"]));
    box.appendChild(pre(item.input));
    var references = el("ul");
    item.references.forEach(function (ref) {
      references.appendChild(el("li", {}, [el("code", { text: JSON.stringify(ref[0]) }), (ref[1] || []).length ? " " + ref[1].join(", ") : ""]));
    });
    box.appendChild(el("p", {}, [el("strong", { text: "References" })]));
    box.appendChild(references);
    item.states.forEach(function (index, position) {
      var shard = shards[Math.floor(index / size)];
      var state = shard.states[index % size];
      if (item.states.length > 1) box.appendChild(el("h4", { text: "Request " + (position + 1) + " of " + item.states.length }));
      var facts = [
        (state.num_prompt_tokens === undefined ? "?" : state.num_prompt_tokens) + " tokens",
        (state.num_train_instances === undefined ? "?" : state.num_train_instances) + " in-context examples (" + ((state.train_instance_ids || []).join(", ") || "none") + ")",
      ];
      if (state.prompt_truncated) facts.push("truncated to fit");
      box.appendChild(el("p", {}, [el("strong", { text: "Prompt sent" }), ": " + facts.join(", ")]));
      var prompt = pre(promptText(state.prompt, shard.prefixes, item.input));
      prompt.classList.add("crfm-prompt");
      box.appendChild(prompt);
      box.appendChild(el("p", {}, [el("strong", { text: "Request" }), ": ", el("code", { text: JSON.stringify(state.request) })]));
      var result = state.result || {};
      var resultFacts = Object.keys(result).map(function (name) { return [name, result[name]]; });
      if (!state.result) box.appendChild(el("p", { className: "crfm-error", text: "No result: the request was not executed." }));
      else if (!result.success) box.appendChild(el("p", { className: "crfm-error", text: "Request failed: " + (result.error || "no reason given") }));
      (state.completions || []).forEach(function (completion, number) {
        box.appendChild(el("p", {}, [el("strong", { text: "Completion " + (number + 1) })]));
        box.appendChild(pre(completion.text));
        var fields = Object.keys(completion).filter(function (name) { return name !== "text"; })
          .map(function (name) { return [name, completion[name]]; });
        box.appendChild(keyValueTable(fields));
      });
      var others = Object.keys(state).filter(function (name) {
        return ["prompt", "request", "result", "completions", "num_prompt_tokens", "num_train_instances", "train_instance_ids", "prompt_truncated"].indexOf(name) < 0;
      }).map(function (name) { return [name, state[name]]; });
      if (resultFacts.length || others.length) {
        box.appendChild(el("p", {}, [el("strong", { text: "Result and other fields" })]));
        box.appendChild(keyValueTable(resultFacts.concat(others)));
      }
    });
    box.appendChild(el("p", {}, [el("strong", { text: "Per-instance values" })]));
    box.appendChild(keyValueTable(this.list.metrics.map(function (name, index) { return [name, item.values[index]]; })));
    var others = this.runs.filter(function (run) { return run.scenario === self.run.scenario && run.key !== self.run.key; });
    if (others.length) {
      var select = el("select", { "aria-label": "the same instance in another run" });
      select.appendChild(new Option("\u2014 the same instance in another run \u2014", ""));
      others.forEach(function (run) { select.appendChild(new Option(run.label, run.key)); });
      select.addEventListener("change", function () {
        if (!select.value) return;
        var query = new URLSearchParams({ run: select.value, id: item.id });
        window.location.search = query.toString();
      });
      box.appendChild(el("p", {}, [select]));
    }
    return box;
  };

  function start() {
    var container = document.getElementById("crfm-viewer");
    if (!container || container.getAttribute("data-started")) return;
    container.setAttribute("data-started", "1");
    new Viewer(container).start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  if (window.document$ && typeof window.document$.subscribe === "function") window.document$.subscribe(start);
})();
