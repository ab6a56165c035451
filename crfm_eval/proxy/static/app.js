// The proxy's web page: send one request, show its completions with logprobs.
// Model output is untrusted: it is only ever set as textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

async function callApi(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) headers["Authorization"] = "Bearer " + key;
  const response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await response.json();
  if (!response.ok) throw new Error(response.status + ": " + (data.error || response.statusText));
  return data;
}

function tokenTable(tokens) {
  const table = element("table");
  const head = table.insertRow();
  ["token", "logprob", "top alternatives"].forEach((name) => head.appendChild(element("th", name)));
  tokens.forEach((token) => {
    const row = table.insertRow();
    row.insertCell().appendChild(element("span", JSON.stringify(token.text), "token"));
    row.insertCell().textContent = token.logprob.toFixed(4);
    row.insertCell().textContent = Object.entries(token.top_logprobs)
      .map(([text, logprob]) => JSON.stringify(text) + " " + logprob.toFixed(3)).join(", ");
  });
  return table;
}

function showResult(result) {
  const results = $("results");
  results.replaceChildren();
  results.appendChild(element("p", (result.cached ? "From the cache" : "From the model") +
    (result.request_time != null ? ", model time " + result.request_time.toFixed(3) + " s" : "")));
  result.completions.forEach((completion, index) => {
    const box = element("div", undefined, "completion");
    box.appendChild(element("h3", "Completion " + (index + 1) + " (logprob " + completion.logprob.toFixed(3) +
      ", finish: " + completion.finish_reason + ")"));
    box.appendChild(element("pre", completion.text));
    box.appendChild(tokenTable(completion.tokens));
    results.appendChild(box);
  });
}

async function send(event) {
  event.preventDefault();
  const stop = $("stop").value.split("\n").filter((line) => line.length > 0);
  const request = {
    model: $("model").value,
    prompt: $("prompt").value,
    max_tokens: Number($("max-tokens").value),
    temperature: Number($("temperature").value),
    top_p: Number($("top-p").value),
    num_completions: Number($("num-completions").value),
    top_k_per_token: Number($("top-k").value),
    stop_sequences: stop,
    echo_prompt: $("echo").checked,
  };
  $("status").textContent = "Waiting for the model...";
  $("status").className = "";
  try {
    showResult(await callApi("POST", "/api/request", { request }));
    $("status").textContent = "";
  } catch (error) {
    $("status").textContent = error.message;
    $("status").className = "error";
  }
}

async function showUsage() {
  try {
    const account = await callApi("GET", "/api/account");
    const results = $("results");
    results.replaceChildren(element("h3", "Account " + account.username),
      element("pre", JSON.stringify({ quotas: account.quotas, usage: account.usage }, null, 2)));
  } catch (error) {
    $("status").textContent = error.message;
    $("status").className = "error";
  }
}

async function start() {
  const info = await callApi("GET", "/api/general_info");
  $("version").textContent = "crfm_eval " + info.version + " - " + info.models.length + " models";
  info.models.forEach((model) => {
    const option = element("option", model.name + " (" + model.group + ")");
    option.value = model.name;
    $("model").appendChild(option);
  });
  $("query").addEventListener("submit", send);
  $("show-usage").addEventListener("click", showUsage);
}

start();
