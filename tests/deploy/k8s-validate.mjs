// k8s-validate.mjs — checks rendered Kubernetes manifests offline.
//
//   node tests/deploy/k8s-validate.mjs RENDERED.yaml [LABEL]
//
// Three layers, every problem reported, exit 1 if any:
//  1. schema: each object against the Kubernetes OpenAPI schema of its kind
//     (kubernetes-models + @kubernetes-models/validate: types, enums,
//     required fields);
//  2. unknown fields: the same objects type-checked by TypeScript against
//     kubernetes-models' interfaces, which rejects a misspelt field
//     (`readOnlyRootFileSystem`) that the JSON schemas let through;
//  3. the deployment's own rules: non-root, read-only root, probes on
//     /healthz and /readyz, resources, a grace period longer than
//     SEGLOSS_SHUTDOWN_DELAY plus SEGLOSS_DRAIN_TIMEOUT, references that resolve
//     (ConfigMap, Secret and key, claim, HPA target, selectors), a store on a
//     file only with one replica and `Recreate`, and a PostgreSQL store given
//     from a Secret with its password in a file, never in the URL, and scaled
//     from two replicas with rolling updates.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const [file, label = file] = process.argv.slice(2);
if (!file) {
  console.error("usage: k8s-validate.mjs RENDERED.yaml [LABEL]");
  process.exit(2);
}

const problems = [];
const fail = (where, msg) => problems.push(`${label}: ${where}: ${msg}`);

// ---- parse -----------------------------------------------------------------
const docs = [];
for (const d of parseAllDocuments(readFileSync(file, "utf8"))) {
  if (d.errors.length) {
    for (const e of d.errors) fail("yaml", e.message);
    continue;
  }
  const obj = d.toJS();
  // Newer kustomize wraps long base64 Secret data over lines; the API server's decoder skips newlines.
  if (obj?.kind === "Secret" && obj.data)
    for (const k of Object.keys(obj.data)) obj.data[k] = String(obj.data[k]).replace(/\s+/g, "");
  if (obj !== null && obj !== undefined) docs.push(obj);
}
if (docs.length === 0) fail("render", "no objects");

const id = (o) => `${o?.kind ?? "?"}/${o?.metadata?.name ?? "?"}`;

// ---- 1. schema -------------------------------------------------------------
// apiVersion -> module of kubernetes-models: "v1" -> v1, "apps/v1" -> apps/v1.
const models = []; // [obj, interface import path, interface name]
for (const o of docs) {
  if (typeof o !== "object" || Array.isArray(o) || !o.apiVersion || !o.kind || !o.metadata?.name) {
    fail(id(o), "not an object with apiVersion, kind and metadata.name");
    continue;
  }
  const mod = `kubernetes-models/${o.apiVersion}`;
  let Model;
  try {
    Model = (await import(mod))[o.kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== "function") {
    fail(id(o), `no schema for ${o.apiVersion} ${o.kind} (not a built-in Kubernetes kind)`);
    continue;
  }
  try {
    new Model(o).validate();
  } catch (e) {
    fail(id(o), `schema: ${e.message}`);
  }
  models.push([o, `${mod}/${o.kind}`, `I${o.kind}`]);
}

// ---- 2. unknown fields (TypeScript excess-property check) ------------------
// Each object becomes a typed constant, one JSON value per line; a compiler
// error's line number maps back to the field's path.
if (models.length) {
  const lines = [];
  const where = []; // line index -> [object, path]
  const emit = (text, o, path) => {
    lines.push(text);
    where.push([o, path]);
  };
  const value = (v, o, path, indent, prefix, suffix) => {
    const pad = " ".repeat(indent);
    if (v !== null && typeof v === "object") {
      const entries = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
      const [open, close] = Array.isArray(v) ? ["[", "]"] : ["{", "}"];
      emit(`${pad}${prefix}${open}`, o, path);
      entries.forEach(([k, x], i) => {
        const p = Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`;
        const key = Array.isArray(v) ? "" : `${JSON.stringify(k)}: `;
        value(x, o, p, indent + 2, key, i < entries.length - 1 ? "," : "");
      });
      emit(`${pad}${close}${suffix}`, o, path);
    } else {
      emit(`${pad}${prefix}${JSON.stringify(v)}${suffix}`, o, path);
    }
  };
  models.forEach(([o, mod, iface], i) => {
    emit(`import type { ${iface} as T${i} } from ${JSON.stringify(mod)};`, o, "");
    value(o, o, "", 0, `export const doc${i}: T${i} = `, ";");
  });
  // Inside tests/deploy, so that the imports resolve to its node_modules.
  const dir = mkdtempSync(join(here, ".tmp-k8s-"));
  try {
    writeFileSync(join(dir, "manifests.ts"), lines.join("\n") + "\n");
    execFileSync(
      process.execPath,
      [join(here, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--skipLibCheck",
        "--moduleResolution", "node10", "--module", "commonjs", "--target", "es2020",
        "--pretty", "false", join(dir, "manifests.ts")],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
  } catch (e) {
    const out = `${e.stdout ?? ""}${e.stderr ?? ""}`;
    let n = 0;
    for (const line of out.split("\n")) {
      const m = /manifests\.ts\((\d+),\d+\): error (TS\d+: .*)/.exec(line);
      if (!m) continue;
      const [o, path] = where[Number(m[1]) - 1] ?? [undefined, "?"];
      fail(`${id(o)} ${path || "."}`, `unknown field or wrong type: ${m[2]}`);
      n++;
    }
    if (n === 0) fail("typescript", out.trim() || String(e));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- 3. the deployment's own rules -----------------------------------------
const of = (kind) => docs.filter((o) => o?.kind === kind);
const named = (kind, name) => of(kind).find((o) => o.metadata?.name === name);
const selects = (sel, labels) =>
  sel && Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels?.[k] === v);
const seconds = (v) => (v === undefined ? undefined : Number(v));

for (const d of of("Deployment")) {
  const w = id(d);
  const pod = d.spec?.template?.spec ?? {};
  const labels = d.spec?.template?.metadata?.labels ?? {};
  const psc = pod.securityContext ?? {};
  if (!selects(d.spec?.selector?.matchLabels, labels)) fail(w, "selector does not match the pod labels");
  if (psc.runAsNonRoot !== true) fail(w, "pod securityContext.runAsNonRoot is not true");
  for (const k of ["runAsUser", "runAsGroup", "fsGroup"])
    if (psc[k] !== 10001) fail(w, `pod securityContext.${k} is not 10001 (the image's user)`);
  if (psc.seccompProfile?.type !== "RuntimeDefault") fail(w, "pod seccompProfile is not RuntimeDefault");
  if (pod.automountServiceAccountToken !== false) fail(w, "automountServiceAccountToken is not false");
  if (pod.enableServiceLinks !== false)
    fail(w, "enableServiceLinks is not false (a Service named segloss sets SEGLOSS_PORT=tcp://...)");
  const ann = d.spec?.template?.metadata?.annotations ?? {};
  if (ann["prometheus.io/scrape"] !== "true" || !ann["prometheus.io/port"] || !ann["prometheus.io/path"])
    fail(w, "prometheus.io/scrape, port and path annotations missing");
  const volumes = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v]));
  for (const v of pod.volumes ?? [])
    if (v.persistentVolumeClaim && !named("PersistentVolumeClaim", v.persistentVolumeClaim.claimName))
      fail(w, `volume ${v.name}: claim ${v.persistentVolumeClaim.claimName} is not in the render`);

  for (const c of pod.containers ?? []) {
    const cw = `${w} container ${c.name}`;
    const sc = c.securityContext ?? {};
    if (sc.readOnlyRootFilesystem !== true) fail(cw, "readOnlyRootFilesystem is not true");
    if (sc.allowPrivilegeEscalation !== false) fail(cw, "allowPrivilegeEscalation is not false");
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(cw, "capabilities do not drop ALL");
    if (sc.privileged === true) fail(cw, "privileged");
    const r = c.resources ?? {};
    for (const k of ["requests", "limits"])
      for (const res of ["cpu", "memory"]) if (!r[k]?.[res]) fail(cw, `resources.${k}.${res} missing`);
    const path = (p) => p?.httpGet?.path;
    if (path(c.livenessProbe) !== "/healthz") fail(cw, "livenessProbe is not GET /healthz");
    if (path(c.readinessProbe) !== "/readyz") fail(cw, "readinessProbe is not GET /readyz");
    if (!c.startupProbe) fail(cw, "no startupProbe");

    // Settings: the ConfigMaps it takes its environment from must exist.
    const env = {};
    for (const ef of c.envFrom ?? []) {
      if (!ef.configMapRef) continue;
      const cm = named("ConfigMap", ef.configMapRef.name);
      if (!cm) fail(cw, `envFrom ConfigMap ${ef.configMapRef.name} is not in the render`);
      else Object.assign(env, cm.data ?? {});
    }
    for (const e of c.env ?? []) {
      if ("value" in e) env[e.name] = e.value;
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) {
        const sec = named("Secret", ref.name);
        const data = { ...(sec?.data ?? {}), ...(sec?.stringData ?? {}) };
        if (!sec) fail(cw, `env ${e.name}: Secret ${ref.name} is not in the render`);
        else if (!(ref.key in data)) fail(cw, `env ${e.name}: Secret ${ref.name} has no key ${ref.key}`);
        const raw = sec?.data?.[ref.key] !== undefined ? Buffer.from(sec.data[ref.key], "base64").toString() : sec?.stringData?.[ref.key];
        env[e.name] = { secret: ref.name, value: raw ?? "" };
      }
    }
    const port = Number(env.SEGLOSS_PORT ?? 8080);
    if (!(c.ports ?? []).some((p) => p.containerPort === port))
      fail(cw, `no containerPort ${port} (SEGLOSS_PORT)`);
    if (ann["prometheus.io/port"] && Number(ann["prometheus.io/port"]) !== port)
      fail(w, `prometheus.io/port is not SEGLOSS_PORT (${port})`);

    // Writable places on a read-only root: /tmp, and the store's folder.
    const mounts = Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.mountPath, m]));
    const writable = (dir) => {
      const m = mounts[dir];
      return m && !m.readOnly && volumes[m.name] && (volumes[m.name].emptyDir || volumes[m.name].persistentVolumeClaim);
    };
    if (!writable("/tmp")) fail(cw, "no writable volume at /tmp");
    const dbEnv = env.SEGLOSS_DB ?? "./data/segloss.db";
    const db = typeof dbEnv === "object" ? dbEnv.value : dbEnv;
    const postgres = /^postgres(ql)?:\/\//.test(db) || db.includes("=");
    const stored = db !== "off" && db !== ":memory:" && !postgres;
    if (postgres) {
      // Shared by every replica: its address from a Secret, its password from a file, and replicas.
      if (typeof dbEnv !== "object") fail(cw, "SEGLOSS_DB names PostgreSQL but does not come from a Secret");
      if (/^postgres(ql)?:\/\/[^/@]*:[^/@]*@/.test(db) || /\bpassword\s*=/.test(db))
        fail(cw, "SEGLOSS_DB holds a password: give it in SEGLOSS_DB_FILE (a mounted Secret)");
      const pwFile = env.SEGLOSS_DB_FILE;
      const pwDir = typeof pwFile === "string" ? pwFile.slice(0, pwFile.lastIndexOf("/")) : undefined;
      const pwMount = pwDir && mounts[pwDir];
      if (!pwMount || !volumes[pwMount.name]?.secret) fail(cw, "SEGLOSS_DB_FILE is not a file of a mounted Secret");
      else if (!named("Secret", volumes[pwMount.name].secret.secretName))
        fail(cw, `Secret ${volumes[pwMount.name].secret.secretName} (SEGLOSS_DB_FILE) is not in the render`);
      if (d.spec?.strategy?.type === "Recreate") fail(w, "replicas on PostgreSQL roll: strategy Recreate stops them all");
      for (const h of of("HorizontalPodAutoscaler"))
        if (h.spec?.scaleTargetRef?.name === d.metadata.name && !(h.spec.minReplicas >= 2))
          fail(id(h), "a Deployment on PostgreSQL keeps two replicas at least");
    }
    if (stored) {
      const dir = db.startsWith("/") ? db.slice(0, db.lastIndexOf("/")) || "/" : undefined;
      if (!dir || !writable(dir)) fail(cw, `SEGLOSS_DB=${db} is not on a writable volume`);
      else if (!volumes[mounts[dir].name].persistentVolumeClaim)
        fail(cw, `SEGLOSS_DB=${db} is on an emptyDir: runs and jobs would be lost with the pod`);
      // One SQLite file, one daemon: never two pods on it.
      if (d.spec?.strategy?.type !== "Recreate") fail(w, "a store on a file needs strategy Recreate");
      if ((d.spec?.replicas ?? 1) !== 1) fail(w, "a store on a file needs one replica");
      for (const h of of("HorizontalPodAutoscaler"))
        if (h.spec?.scaleTargetRef?.name === d.metadata.name && h.spec.maxReplicas !== 1)
          fail(id(h), "scales a Deployment with a store on a file beyond one replica");
    }

    // Grace period: the shutdown delay, then the drain, must end before SIGKILL.
    const pause = seconds(env.SEGLOSS_SHUTDOWN_DELAY ?? 0);
    if (!(pause > 0)) fail(cw, "no SEGLOSS_SHUTDOWN_DELAY: the listener would close before the endpoint is gone");
    const drain = seconds(env.SEGLOSS_DRAIN_TIMEOUT ?? 25);
    const grace = seconds(pod.terminationGracePeriodSeconds ?? 30);
    if (!(grace > pause + drain))
      fail(w, `terminationGracePeriodSeconds ${grace} is not above SEGLOSS_SHUTDOWN_DELAY ${pause} s + SEGLOSS_DRAIN_TIMEOUT ${drain} s`);
    const workers = Number(env.SEGLOSS_WORKERS);
    if (!(workers > 0)) fail(cw, "SEGLOSS_WORKERS not set (keep it with the CPU limit)");
  }
}

const podsOf = () => [...of("Deployment"), ...of("StatefulSet")].map((d) => d.spec?.template?.metadata?.labels ?? {});
for (const s of of("Service")) {
  if (!podsOf().some((l) => selects(s.spec?.selector, l))) fail(id(s), "selects no Deployment's or StatefulSet's pods");
  const matching = podsOf().filter((l) => selects(s.spec?.selector, l));
  if (matching.length > 1) fail(id(s), "selects the pods of more than one Deployment or StatefulSet");
}
for (const p of of("PodDisruptionBudget"))
  if (!podsOf().some((l) => selects(p.spec?.selector?.matchLabels, l))) fail(id(p), "selects no Deployment's pods");
for (const s of of("StatefulSet")) {
  const sw = id(s);
  const labels = s.spec?.template?.metadata?.labels ?? {};
  if (!selects(s.spec?.selector?.matchLabels, labels)) fail(sw, "selector does not match the pod labels");
  if (!named("Service", s.spec?.serviceName)) fail(sw, `serviceName ${s.spec?.serviceName} is not in the render`);
  const claims = new Set((s.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name));
  const vols = new Set((s.spec?.template?.spec?.volumes ?? []).map((v) => v.name));
  for (const v of s.spec?.template?.spec?.volumes ?? [])
    if (v.secret && !named("Secret", v.secret.secretName)) fail(sw, `volume ${v.name}: Secret ${v.secret.secretName} is not in the render`);
  for (const c of s.spec?.template?.spec?.containers ?? []) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) fail(`${sw} container ${c.name}`, "allowPrivilegeEscalation is not false");
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(`${sw} container ${c.name}`, "capabilities do not drop ALL");
    for (const m of c.volumeMounts ?? [])
      if (!claims.has(m.name) && !vols.has(m.name)) fail(`${sw} container ${c.name}`, `mount ${m.name} has no volume or claim`);
  }
}
for (const h of of("HorizontalPodAutoscaler")) {
  const t = h.spec?.scaleTargetRef ?? {};
  if (t.kind !== "Deployment" || !named("Deployment", t.name)) fail(id(h), `target ${t.kind}/${t.name} is not in the render`);
}

if (problems.length) {
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(1);
}
console.log(`${label}: ${docs.length} objects valid (${docs.map(id).join(", ")})`);
