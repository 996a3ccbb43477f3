// A program written against the TypeScript client generated from
// docs/openapi.yaml (openapi-typescript + openapi-fetch). client_test.mjs
// type-checks it with `tsc --strict`, then runs it against a real server:
// it touches every area (health, metrics, state, events, log, documents,
// vectors, text search, SQL, API keys, admin, HEAD and OPTIONS) and records every
// response, which client_test.mjs validates against the spec.
//
//   KISSVDB_URL=http://127.0.0.1:port KISSVDB_TOKEN=... KISSVDB_RECORD=out.json node usage.js
import { writeFileSync } from "node:fs";

import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "./api.js";

type Recorded = { method: string; path: string; status: number; contentType: string; body: string };

const base = process.env.KISSVDB_URL ?? "http://127.0.0.1:9917";
const token = process.env.KISSVDB_TOKEN ?? "";
const recorded: Recorded[] = [];

const record: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    const body = request.method === "HEAD" ? "" : await response.clone().text();
    recorded.push({
      method: request.method,
      path: schemaPath,
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      body,
    });
    return undefined;
  },
};

function connect(key: string, how: "bearer" | "header" | "query") {
  const headers: Record<string, string> = {};
  if (how === "bearer") headers["Authorization"] = `Bearer ${key}`;
  if (how === "header") headers["X-API-Key"] = key;
  const client = createClient<paths>({ baseUrl: base, headers });
  client.use(record);
  if (how === "query") {
    // The original's fallback for clients that cannot send headers.
    client.use({
      onRequest({ request }) {
        const url = new URL(request.url);
        url.searchParams.set("api_key", key);
        return new Request(url, request);
      },
    });
  }
  return client;
}

function expect(what: string, ok: boolean, detail?: unknown): void {
  if (!ok) throw new Error(`${what}${detail === undefined ? "" : ": " + JSON.stringify(detail)}`);
  console.log(`ok - ${what}`);
}

const api = connect(token, "bearer");

async function health(): Promise<void> {
  const { data, response } = await api.GET("/v1/health");
  expect("health answers ok", response.status === 200 && data?.status === "ok", data);
  const head = await api.HEAD("/v1/health", { parseAs: "text" });
  expect("HEAD /v1/health is 200", head.response.status === 200);
  const metrics = await api.GET("/v1/metrics", { parseAs: "text" });
  expect("metrics is text", typeof metrics.data === "string" && metrics.data.length > 0);
}

async function state(): Promise<void> {
  const put = await api.PUT("/v1/state/{key}", { params: { path: { key: "client:a" } }, body: { value: { n: 1 } } });
  expect("state put", put.data?.revision === 1, put.error);
  const cas = await api.PUT("/v1/state/{key}", {
    params: { path: { key: "client:a" } },
    body: { value: 2, if_revision: 7 },
  });
  expect("state put with a stale if_revision is 409", cas.error?.error === "revision_mismatch", cas.error);
  const got = await api.GET("/v1/state/{key}", { params: { path: { key: "client:a" } } });
  const item: components["schemas"]["StateItem"] | undefined = got.data;
  expect("state get", item?.key === "client:a" && item.expires_at_ms === null, item);
  const batch = await api.POST("/v1/state/batch_put", {
    body: { operations: [{ key: "client:b", value: true }, { key: "client:c", value: "x", ttl_ms: 60000 }] },
  });
  expect("state batch_put", batch.data?.results.length === 2, batch.error);
  const list = await api.GET("/v1/state", { params: { query: { prefix: "client:", limit: 5000 } } });
  expect("state list (limit above the maximum is clamped)", list.data?.length === 3, list.error);
  const history = await api.GET("/v1/state/{key}/history", { params: { path: { key: "client:a" }, query: { limit: 10 } } });
  const newest = history.data?.versions[0];
  expect("state history lists versions newest first", newest !== undefined && newest.deleted === false, history.error);
  const past = await api.GET("/v1/state/{key}", { params: { path: { key: "client:a" }, query: { at: newest?.offset ?? 0 } } });
  expect("state get at a past offset", past.data?.key === "client:a", past.error);
  const missing = await api.GET("/v1/state/{key}", { params: { path: { key: "client:none" } } });
  expect("state get of a missing key is 404 not_found", missing.error?.error === "not_found", missing.error);
  const del = await api.DELETE("/v1/state/{key}", { params: { path: { key: "client:b" } } });
  expect("state delete", del.data?.deleted === true, del.error);
}

async function events(): Promise<void> {
  const appended = await api.POST("/v1/events", { body: { type: "client.test", data: { x: 1 } } });
  expect("events append", typeof appended.data?.offset === "number", appended.error);
  const log = await api.GET("/v1/log", { params: { query: { since: 0, limit: 5000 } } });
  expect("log read", (log.data?.events.length ?? 0) > 0, log.error);
}

async function transactions(): Promise<void> {
  const body = {
    checks: [{ state: "client:tx", revision: 0 }],
    ops: [
      { state_put: { key: "client:tx", value: { n: 1 } } },
      { doc_put: { collection: "client_tx", id: "t1", doc: { title: "tx" } } },
      { event_append: { type: "client.tx", data: { n: 1 } } },
    ],
    idempotency_key: "client-tx-1",
  };
  const tx = await api.POST("/v1/tx", { body });
  const first = tx.data?.offset_first ?? 0;
  expect("tx commits every op as one unit",
    tx.data?.succeeded === true && tx.data.results.length === 3 && tx.data.tx === first && tx.data.replayed === false,
    tx.error);
  const again = await api.POST("/v1/tx", { body });
  expect("tx retry with the same idempotency_key is replayed", again.data?.replayed === true, again.error);
  const failed = await api.POST("/v1/tx", {
    body: { checks: [{ state: "client:tx", revision: 0 }], ops: [{ state_delete: { key: "client:tx" } }] },
  });
  expect("tx with a failed check is 409 naming it",
    failed.error?.error === "conflict" && "failed_check" in failed.error && failed.error.failed_check?.index === 0,
    failed.error);
}

async function docs(): Promise<void> {
  const coll = { collection: "client_docs" };
  const put = await api.PUT("/v1/doc/{collection}/{id}", {
    params: { path: { ...coll, id: "d1" } },
    body: { title: "hello", tags: ["a"], views: 1 },
  });
  expect("doc put", put.data?.revision === 1, put.error);
  await api.PUT("/v1/doc/{collection}/{id}", { params: { path: { ...coll, id: "d2" } }, body: { title: "two", views: 5 } });
  const patch = await api.PATCH("/v1/doc/{collection}/{id}", {
    params: { path: { ...coll, id: "d1" } },
    body: { views: 2, tags: null },
  });
  expect("doc patch", patch.data?.doc["views"] === 2 && !("tags" in (patch.data?.doc ?? {})), patch.data);
  const got = await api.GET("/v1/doc/{collection}/{id}", { params: { path: { ...coll, id: "d1" } } });
  expect("doc get", got.data?.doc["title"] === "hello", got.error);
  const versions = await api.GET("/v1/doc/{collection}/{id}/history", { params: { path: { ...coll, id: "d1" }, query: { limit: 10 } } });
  const first = versions.data?.versions[versions.data.versions.length - 1];
  expect("doc history lists versions newest first", versions.data?.versions.length === 2 && first?.doc?.["views"] === 1, versions.error);
  const then = await api.GET("/v1/doc/{collection}/{id}", { params: { path: { ...coll, id: "d1" }, query: { at: first?.offset ?? 0 } } });
  expect("doc get at a past offset", then.data?.doc["views"] === 1, then.error);
  const find = await api.POST("/v1/doc/{collection}/find", {
    params: { path: coll },
    body: { filter: { views: { $gte: 2 } }, sort: { field: "views" }, limit: 500 },
  });
  expect("doc find (limit above the maximum is clamped)", find.data?.documents.length === 2, find.error);
  expect("doc find reports its plan", typeof find.data?.plan.used === "string", find.data?.plan);
  const list = await api.GET("/v1/doc/{collection}", { params: { path: coll, query: { limit: 1 } } });
  expect("doc list pages", list.data?.documents.length === 1 && typeof list.data.next_cursor === "string", list.data);
  const colls = await api.GET("/v1/doc");
  expect("doc collections", colls.data?.collections.some((c) => c.collection === "client_docs") === true, colls.error);
  const del = await api.DELETE("/v1/doc/{collection}/{id}", { params: { path: { ...coll, id: "d2" } } });
  expect("doc delete", del.data?.deleted === true, del.error);
  const drop = await api.DELETE("/v1/doc/{collection}", { params: { path: coll } });
  expect("doc drop", drop.data?.dropped === true && drop.data.count === 1, drop.error);
}

async function vectors(): Promise<void> {
  const path = { collection: "client_vectors" };
  const created = await api.POST("/v1/vector/{collection}", { params: { path }, body: { dim: 3, metric: "cosine" } });
  expect("vector create", created.data?.dim === 3, created.error);
  const again = await api.POST("/v1/vector/{collection}", { params: { path }, body: { dim: 3 } });
  expect("vector create twice is 409", again.response.status === 409, again.error);
  const add = await api.POST("/v1/vector/{collection}/add", {
    params: { path },
    body: { id: "p1", vector: [1, 0, 0], meta: { tag: "a" } },
  });
  expect("vector add", add.data?.ok === true, add.error);
  await api.POST("/v1/vector/{collection}/upsert", { params: { path }, body: { id: "p2", vector: [0, 1, 0] } });
  const update = await api.POST("/v1/vector/{collection}/update", { params: { path }, body: { id: "p2", meta: "any JSON" } });
  expect("vector update", update.data?.ok === true, update.error);
  const batch = await api.POST("/v1/vector/{collection}/upsert_batch", {
    params: { path },
    body: { items: [{ id: "p3", vector: [0, 0, 1], meta: null }, { id: "p4", vector: [1, 1, 0] }] },
  });
  expect("vector upsert_batch", batch.data?.results.every((r) => r.status === "upserted") === true, batch.error);
  const get = await api.GET("/v1/vector/{collection}/get", { params: { path, query: { id: "p1" } } });
  expect("vector get", get.data?.id === "p1", get.error);
  // Only vector and k: fields with a default are optional in the generated type.
  const search = await api.POST("/v1/vector/{collection}/search", { params: { path }, body: { vector: [1, 0, 0], k: 2 } });
  expect("vector search", search.data?.hits[0]?.id === "p1" && search.data.hits[0].meta === null, search.data);
  const filtered = await api.POST("/v1/vector/{collection}/search", {
    params: { path },
    body: { vector: [1, 0, 0], k: 3, include_meta: true, filters: { tag: "a" } },
  });
  expect("vector search with filters", filtered.data?.hits.length === 1, filtered.data);
  const tooMany = await api.POST("/v1/vector/{collection}/search", { params: { path }, body: { vector: [1, 0, 0], k: 1000 } });
  expect("vector search k above max_k is 400", tooMany.error?.error === "invalid_argument", tooMany.error);
  const wrongDim = await api.POST("/v1/vector/{collection}/search", { params: { path }, body: { vector: [1, 0], k: 1 } });
  expect("vector search of a wrong length is 400", wrongDim.response.status === 400, wrongDim.error);
  const sb = await api.POST("/v1/vector/{collection}/search_batch", {
    params: { path },
    body: { queries: [{ vector: [0, 1, 0], k: 1 }, { vector: [0, 0, 1], k: 1 }] },
  });
  expect("vector search_batch", sb.data?.results.length === 2, sb.error);
  const info = await api.GET("/v1/vector/{collection}", { params: { path } });
  expect("vector info", info.data?.count === 4, info.data);
  const list = await api.GET("/v1/vector");
  expect("vector list", list.data?.collections.length === 1, list.error);
  const del = await api.POST("/v1/vector/{collection}/delete", { params: { path }, body: { id: "p4" } });
  expect("vector delete", del.data?.deleted === true, del.error);
  const delBatch = await api.POST("/v1/vector/{collection}/delete_batch", { params: { path }, body: { ids: ["p3", "p9"] } });
  expect("vector delete_batch", delBatch.data?.results.length === 2, delBatch.error);
  const drop = await api.DELETE("/v1/vector/{collection}", { params: { path } });
  expect("vector drop", drop.data?.deleted === true, drop.error);
}

async function text(): Promise<void> {
  const path = { collection: "client_chunks" };
  const created = await api.POST("/v1/vector/{collection}", {
    params: { path },
    body: { dim: 2, text_fields: ["text"], text_tokenizer: "porter" },
  });
  expect("vector create with a text index", created.data?.text_index?.tokenizer === "porter", created.data);
  await api.POST("/v1/vector/{collection}/upsert_batch", {
    params: { path },
    body: {
      items: [
        { id: "c1", vector: [1, 0], meta: { text: "Error E1234 while connecting to the log" } },
        { id: "c2", vector: [0, 1], meta: { text: "Everything is fine" } },
      ],
    },
  });
  // Text only: no vector in the body.
  const byText = await api.POST("/v1/vector/{collection}/search", { params: { path }, body: { text: "connection e1234", k: 5 } });
  expect("text search", byText.data?.hits[0]?.id === "c1" && byText.data.hits[0].text_rank === 1, byText.data);
  const hybrid = await api.POST("/v1/vector/{collection}/search", {
    params: { path },
    body: {
      text: "fine",
      vector: [1, 0],
      k: 2,
      candidates: 10,
      fusion: { method: "rrf", k: 60, weights: { text: 1, vector: 0.5 } },
      highlight: { pre: "[", post: "]" },
    },
  });
  expect("hybrid search", hybrid.data?.hits.length === 2 && hybrid.data.hits.some((h) => h.snippet === "Everything is [fine]"), hybrid.data);
  const weighted = await api.POST("/v1/vector/{collection}/search", {
    params: { path },
    body: { text: "log", vector: [0, 1], k: 1, fusion: { method: "weighted", vector_weight: 0.2 } },
  });
  expect("weighted fusion", weighted.data?.hits[0]?.id === "c1", weighted.data);
  const malformed = await api.POST("/v1/vector/{collection}/search", { params: { path }, body: { text: "a AND", text_syntax: "fts5" } });
  expect("a malformed FTS5 query is 400 invalid_query", malformed.error?.error === "invalid_query", malformed.error);
  const info = await api.GET("/v1/vector/{collection}", { params: { path } });
  expect("vector info shows the text index", info.data?.text_index?.items === 2, info.data);

  const doc = { target: "doc" as const, collection: "client_notes" };
  const put = await api.PUT("/v1/text/{target}/{collection}", { params: { path: doc }, body: { fields: ["title", "body.text"] } });
  expect("text index put", put.data?.items === 0, put.data);
  await api.PUT("/v1/doc/{collection}/{id}", {
    params: { path: { collection: "client_notes", id: "n1" } },
    body: { title: "Canción", body: { text: "about the summer" }, team: "a" },
  });
  const found = await api.POST("/v1/doc/{collection}/search", {
    params: { path: { collection: "client_notes" } },
    body: { text: "cancion", filter: { team: "a" }, limit: 5, highlight: true },
  });
  expect("doc search", found.data?.documents[0]?.id === "n1" && typeof found.data.documents[0].score === "number", found.data);
  const one = await api.GET("/v1/text/{target}/{collection}", { params: { path: doc } });
  expect("text index get", one.data?.items === 1, one.data);
  const all = await api.GET("/v1/text");
  expect("text index list", all.data?.indexes.length === 2, all.data);
  const del = await api.DELETE("/v1/text/{target}/{collection}", { params: { path: doc } });
  expect("text index delete", del.data?.deleted === true, del.data);
  const gone = await api.POST("/v1/doc/{collection}/search", { params: { path: { collection: "client_notes" } }, body: { text: "x" } });
  expect("doc search without a text index is 404", gone.response.status === 404, gone.error);
  await api.DELETE("/v1/vector/{collection}", { params: { path } });
}

async function sql(): Promise<void> {
  const exec = await api.POST("/v1/sql/exec", { body: { sql: "CREATE TABLE client_t(id INTEGER PRIMARY KEY, name TEXT)" } });
  expect("sql exec", typeof exec.data?.rows_affected === "number", exec.error);
  const tx = await api.POST("/v1/sql/transaction", {
    body: {
      statements: [
        { sql: "INSERT INTO client_t(name) VALUES (?)", params: ["a"] },
        { sql: "INSERT INTO client_t(name) VALUES (:name)", params: { ":name": "b" } },
      ],
    },
  });
  expect("sql transaction", tx.data?.results.length === 2, tx.error);
  const q = await api.POST("/v1/sql/query", { body: { sql: "SELECT id, name FROM client_t WHERE name = $n", params: { $n: "b" } } });
  expect("sql query", q.data?.rows[0]?.["name"] === "b", q.data);
  const bad = await api.POST("/v1/sql/query", { body: { sql: "SELECT * FROM nowhere" } });
  expect("sql error is 400 sqlite_error", bad.error?.error === "sqlite_error", bad.error);
}

async function keysAndAdmin(): Promise<void> {
  const created = await api.POST("/v1/auth/keys", { body: { name: "client-ro", role: "read_only", permissions: { team: "x" } } });
  expect("auth key create", created.data?.key.startsWith("kvdb_") === true, created.error);
  const key = created.data?.key ?? "";
  const readOnly = connect(key, "header");
  const denied = await readOnly.PUT("/v1/state/{key}", { params: { path: { key: "client:ro" } }, body: { value: 1 } });
  expect("a read-only key gets 403 forbidden on a write", denied.error?.error === "forbidden", denied.error);
  const deniedDoc = await readOnly.DELETE("/v1/doc/{collection}", { params: { path: { collection: "x" } } });
  expect("and on a document drop", deniedDoc.response.status === 403, deniedDoc.error);
  const viaQuery = connect(key, "query");
  const read = await viaQuery.GET("/v1/state", {});
  expect("?api_key= still authenticates (the original's fallback)", read.response.status === 200, read.error);
  const stats = await readOnly.GET("/v1/admin/stats");
  expect("admin stats with a read-only key", typeof stats.data?.log.last_offset === "number", stats.error);
  const keys = await api.GET("/v1/auth/keys");
  expect("auth key list", keys.data?.some((k) => k.name === "client-ro") === true, keys.error);
  const notAdmin = await readOnly.GET("/v1/auth/keys");
  expect("auth key list by a non-admin is 403", notAdmin.error?.error === "forbidden", notAdmin.error);
  const snap = await api.POST("/v1/admin/snapshot", { body: { name: "client-backup" } });
  expect("admin snapshot", snap.data?.name === "client-backup", snap.error);
  const backups = await api.GET("/v1/admin/backups");
  expect("admin backups", backups.data?.backups.some((b) => b.name === "client-backup" && b.complete) === true, backups.error);
  const revoked = await api.DELETE("/v1/auth/keys/{id}", { params: { path: { id: created.data?.id ?? "" } } });
  expect("auth key revoke", revoked.response.status === 204, revoked.error);
  const after = await readOnly.GET("/v1/state", {});
  expect("a revoked key is 401", after.error?.error === "unauthorized", after.error);
}

async function protocol(): Promise<void> {
  const head = await api.HEAD("/v1/state/{key}", { params: { path: { key: "client:a" } }, parseAs: "text" });
  expect("HEAD of a GET route", head.response.status === 200 && head.response.headers.get("content-type") !== null);
  const pre = await api.OPTIONS("/v1/state", { parseAs: "text" });
  expect("OPTIONS preflight is 204", pre.response.status === 204);
  const anon = createClient<paths>({ baseUrl: base });
  anon.use(record);
  const noKey = await anon.GET("/v1/state", {});
  expect("no token is 401", noKey.error?.error === "unauthorized", noKey.error);
}

async function main(): Promise<void> {
  await health();
  await state();
  await events();
  await transactions();
  await docs();
  await vectors();
  await text();
  await sql();
  await keysAndAdmin();
  await protocol();
  const out = process.env.KISSVDB_RECORD;
  if (out) writeFileSync(out, JSON.stringify(recorded, null, 1));
  console.log(`usage: ${recorded.length} responses recorded`);
}

main().catch((e: unknown) => {
  console.error("usage FAILED:", e instanceof Error ? e.message : e);
  process.exit(1);
});
