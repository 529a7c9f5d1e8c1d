// dashboard-check.mjs — the Grafana dashboard against what seglossd serves.
//
//   node tests/deploy/dashboard-check.mjs DASHBOARD.json METRICS.txt RUN.json
//
// METRICS.txt is a live seglossd's /metrics after traffic of every kind, RUN.json
// its GET /v1/runs/{run} for a recorded run. Fails (exit 1) when:
//  - the dashboard is not valid JSON, or a panel lacks an id, a unique id,
//    a gridPos inside 24 columns, or a data source;
//  - a variable is used ($x, ${x}, ${x:fmt}, [[x]]) that is not defined;
//  - a data source is neither a dashboard variable nor a provisioned uid;
//  - a PromQL expression (panels and query variables) does not parse, or
//    names a metric that the daemon does not export (histograms count with
//    their _bucket, _sum and _count series; `up` and the scrape_* series
//    come from Prometheus itself);
//  - an Infinity query is not a GET on ${segloss_url}/v1/runs..., or its
//    JSONata root selector, run on the live answer, gives rows that lack a
//    column it declares, or a number column that is not a number.
// Families the daemon exports that no panel shows are listed, not failed.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parser } from "@prometheus-io/lezer-promql";
import jsonata from "jsonata";
import { parse as parseYaml } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const [dashFile, metricsFile, runFile] = process.argv.slice(2);
if (!dashFile || !metricsFile || !runFile) {
  console.error("usage: dashboard-check.mjs DASHBOARD.json METRICS.txt RUN.json");
  process.exit(2);
}

const problems = [];
const fail = (where, msg) => problems.push(`${where}: ${msg}`);

let dash;
try {
  dash = JSON.parse(readFileSync(dashFile, "utf8"));
} catch (e) {
  console.error(`FAIL ${dashFile}: not valid JSON: ${e.message}`);
  process.exit(1);
}

// ---- what the daemon exports ----------------------------------------------
const SUFFIXES = { histogram: ["_bucket", "_sum", "_count"], summary: ["", "_sum", "_count"] };
const PROMETHEUS_OWN = ["up", "scrape_duration_seconds", "scrape_samples_scraped",
  "scrape_samples_post_metric_relabeling", "scrape_series_added"];
const exported = new Set();
const families = new Map(); // family -> type
for (const line of readFileSync(metricsFile, "utf8").split("\n")) {
  const type = /^# TYPE (\S+) (\S+)/.exec(line);
  if (type) {
    families.set(type[1], type[2]);
    for (const s of SUFFIXES[type[2]] ?? [""]) exported.add(type[1] + s);
    continue;
  }
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
  if (sample) exported.add(sample[1]);
}
if (!families.size) fail(metricsFile, "no metric families (is it /metrics?)");
const known = new Set([...exported, ...PROMETHEUS_OWN]);
const familyOf = (name) => {
  for (const [f, t] of families) if ((SUFFIXES[t] ?? [""]).some((s) => f + s === name)) return f;
  return name;
};

// ---- variables ------------------------------------------------------------
const vars = dash.templating?.list ?? [];
const varNames = new Set(vars.map((v) => v.name));
const BUILTIN = /^__/; // $__rate_interval, $__range, $__all, ...
const usedVars = (text) => {
  const out = [];
  const re = /\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]|\$([A-Za-z0-9_]+)/g;
  for (let m; (m = re.exec(text)); ) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
};
const checkVars = (where, text, skip = new Set()) => {
  for (const v of usedVars(text)) if (!BUILTIN.test(v) && !varNames.has(v) && !skip.has(v)) fail(where, `undefined variable $${v}`);
};

// ---- data sources -----------------------------------------------------------
const provisioned = new Map(); // uid -> type
const dsFile = join(root, "deploy/grafana/provisioning/datasources/segloss.yml");
for (const d of parseYaml(readFileSync(dsFile, "utf8"))?.datasources ?? []) provisioned.set(d.uid, d.type);
const dsVars = new Map(vars.filter((v) => v.type === "datasource").map((v) => [v.name, v]));
for (const v of dsVars.values()) {
  const uid = v.current?.value;
  if (provisioned.get(uid) !== v.query) fail(`variable ${v.name}`, `default ${uid} is not a provisioned ${v.query} data source`);
}
const dsType = (where, ds) => {
  if (!ds?.uid) {
    fail(where, "no data source");
    return undefined;
  }
  const m = /^\$\{?([A-Za-z0-9_]+)\}?$/.exec(ds.uid);
  if (m) {
    const v = dsVars.get(m[1]);
    if (!v) fail(where, `data source variable ${ds.uid} is not defined`);
    else if (ds.type && ds.type !== v.query) fail(where, `data source type ${ds.type} but ${ds.uid} is ${v.query}`);
    return v?.query;
  }
  if (!provisioned.has(ds.uid)) fail(where, `data source uid ${ds.uid} is not provisioned`);
  return provisioned.get(ds.uid);
};

// ---- PromQL -----------------------------------------------------------------
const used = new Set();
// Grafana's interval macros become a duration, other variables only ever
// stand inside strings (label values) here.
const toPromQL = (expr) => expr.replace(/\$\{?__(rate_interval|interval|range|range_s|range_ms|interval_ms)\}?/g, "5m");
const checkPromQL = (where, expr) => {
  checkVars(where, expr);
  const text = toPromQL(expr);
  const tree = parser.parse(text);
  let parsed = true;
  const names = [];
  tree.iterate({
    enter(n) {
      if (n.type.isError) parsed = false;
      if (n.name === "VectorSelector") {
        const id = n.node.getChild("Identifier");
        if (id) names.push(text.slice(id.from, id.to));
      }
      if (n.name === "UnquotedLabelMatcher" || n.name === "LabelMatcher") {
        const l = n.node.getChild("LabelName");
        const s = n.node.getChild("StringLiteral");
        if (l && s && text.slice(l.from, l.to) === "__name__") names.push(JSON.parse(text.slice(s.from, s.to).replace(/^'|'$/g, '"')));
      }
    },
  });
  if (!parsed) fail(where, `PromQL does not parse: ${expr}`);
  if (!names.length) fail(where, `PromQL names no metric: ${expr}`);
  for (const name of names) {
    used.add(familyOf(name));
    if (!known.has(name)) fail(where, `metric ${name} is not exported by seglossd (expr: ${expr})`);
  }
};

// Query variables on Prometheus: label_values(SELECTOR, label), query_result(EXPR).
for (const v of vars.filter((x) => x.type === "query")) {
  const where = `variable ${v.name}`;
  const type = dsType(where, v.datasource);
  if (type === "prometheus") {
    const q = typeof v.query === "string" ? v.query : v.query?.query ?? "";
    let m;
    if ((m = /^\s*label_values\(\s*(.+?)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/.exec(q))) checkPromQL(where, m[1]);
    else if ((m = /^\s*query_result\(\s*(.+)\s*\)\s*$/.exec(q))) checkPromQL(where, m[1]);
    else fail(where, `unsupported Prometheus variable query: ${q}`);
  }
}
for (const v of vars.filter((x) => x.type !== "query")) checkVars(`variable ${v.name}`, JSON.stringify(v.query ?? ""));

// ---- panels -----------------------------------------------------------------
const run = JSON.parse(readFileSync(runFile, "utf8"));
const infinity = []; // [where, target]
const ids = new Set();
const walk = (list) => {
  for (const p of list ?? []) {
    const where = `panel ${p.id ?? "?"} "${p.title ?? ""}"`;
    if (!Number.isInteger(p.id)) fail(where, "no numeric id");
    else if (ids.has(p.id)) fail(where, "duplicate id");
    ids.add(p.id);
    const g = p.gridPos;
    if (!g || !(g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24 && g.y >= 0)) fail(where, "gridPos missing or outside 24 columns");
    checkVars(where, `${p.title ?? ""} ${p.description ?? ""}`);
    if (p.type === "row") {
      walk(p.panels);
      continue;
    }
    const panelType = dsType(where, p.datasource);
    if (!p.targets?.length) fail(where, "no queries");
    for (const t of p.targets ?? []) {
      const tw = `${where} query ${t.refId}`;
      const type = t.datasource ? dsType(tw, t.datasource) : panelType;
      if (type === "prometheus") {
        if (typeof t.expr !== "string" || !t.expr.trim()) fail(tw, "Prometheus query without expr");
        else checkPromQL(tw, t.expr);
      } else if (type === "yesoreyeram-infinity-datasource") {
        infinity.push([tw, t]);
      } else if (type) {
        fail(tw, `unexpected data source type ${type}`);
      }
    }
  }
};
walk(dash.panels);
for (const v of vars.filter((x) => x.type === "query")) {
  if (dsType(`variable ${v.name}`, v.datasource) === "yesoreyeram-infinity-datasource")
    infinity.push([`variable ${v.name}`, v.query?.infinityQuery]);
}

// ---- Infinity queries, on the live answers ----------------------------------
// The JSONata runs on GET /v1/runs/{run}, or on {"runs": [run]} for /v1/runs.
// JSONata's own $names ($each, $v, $k) are not Grafana variables.
for (const [where, t] of infinity) {
  if (!t) {
    fail(where, "no Infinity query");
    continue;
  }
  const jsonataNames = new Set((t.root_selector ?? "").match(/\$[A-Za-z_][A-Za-z0-9_]*/g)?.map((s) => s.slice(1)) ?? []);
  checkVars(where, `${t.url ?? ""}`);
  checkVars(where, t.root_selector ?? "", jsonataNames);
  if (t.type !== "json" || t.source !== "url" || t.url_options?.method !== "GET") fail(where, "not a JSON GET from a URL");
  const path = /^\$\{segloss_url\}(\/v1\/runs(?:\/\$\{run(?::percentencode)?\})?)$/.exec(t.url ?? "");
  if (!path) {
    fail(where, `URL ${t.url} is not \${segloss_url}/v1/runs or \${segloss_url}/v1/runs/\${run:percentencode}`);
    continue;
  }
  const answer = path[1] === "/v1/runs" ? { runs: [{ name: run.name, count: run.count, created: run.created, updated: run.updated }] } : run;
  let rows;
  try {
    rows = await jsonata(t.root_selector).evaluate(answer);
  } catch (e) {
    fail(where, `root selector does not evaluate: ${e.message}`);
    continue;
  }
  if (!Array.isArray(rows) || rows.length === 0) {
    fail(where, `root selector gives no rows on ${path[1]}`);
    continue;
  }
  for (const c of t.columns ?? []) {
    for (const r of rows) {
      const v = r?.[c.selector];
      if (v === undefined) fail(where, `column ${c.selector} is missing from a row`);
      else if ((c.type === "number" || c.type.startsWith("timestamp_epoch")) && typeof v !== "number")
        fail(where, `column ${c.selector} is ${JSON.stringify(v)}, not a number`);
    }
  }
}

const unshown = [...families.keys()].filter((f) => !used.has(f) && !/^process_(virtual_memory|start_time)/.test(f));
if (problems.length) {
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(1);
}
const exprs = [...used].length;
console.log(`dashboard: ${ids.size} panels, ${exprs} metric families in PromQL, all exported; ${infinity.length} Infinity queries valid on the live run`);
if (unshown.length) console.log(`dashboard: exported but on no panel: ${unshown.join(", ")}`);
