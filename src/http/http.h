/*
 * http.h — seglossd's HTTP server: libmicrohttpd in front, a worker pool
 * behind.
 *
 * The MHD polling thread receives requests and answers the cheap routes
 * itself; evaluations and weight maps are handed to the pool with the
 * connection suspended, and answered when a worker resumes it. The only
 * state shared with the caller is the server handle.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

typedef struct http_config {
	const char *bind;        /* IPv4 or IPv6 literal; borrowed for the call */
	int port;                /* 0: any free port (see http_port) */
	int workers;             /* worker threads (0: compute on the polling thread; tests only) */
	int queue;               /* requests that may wait for a worker */
	size_t max_body;         /* request body cap in bytes */
	uint64_t max_pixels;     /* width*height cap per mask */
	int max_classes;         /* cap on a request's classes */
	unsigned timeout;        /* idle connection timeout, seconds */
	unsigned max_conns;      /* total connections (0: libmicrohttpd's default) */
	unsigned max_conns_per_ip;
	const char *db;          /* SQLite file, ":memory:", a PostgreSQL URI or key=value string, or NULL
				    for no store; borrowed for the call */
	const char *db_password_file; /* PostgreSQL: a file holding the password, or NULL; borrowed for the call */
	int64_t job_ttl_ms;      /* finished jobs are kept this long */
	int job_lease_ms;        /* PostgreSQL: a running job's lease (0: the store's default, 30 s) */
	int db_sync_full;        /* every store commit waits for the disk (store_config.sync_full) */
	const char *api_keys_file; /* one key per line, or NULL; borrowed for the call */
	const char *api_key;       /* one key, or NULL; borrowed for the call */
	const char *cors_origins;  /* "*", or comma-separated origins allowed from browsers, or NULL; borrowed for the call */
	int ui;                    /* serve the web page at GET / and /ui/{file} (1 by default) */
	uint64_t keep_masks_item;  /* keep_masks: cap on one item's target + prediction bytes (0: never keep) */
	uint64_t keep_masks_run;   /* keep_masks: cap on the bytes of all the masks one run keeps */
} http_config;

typedef struct http_server http_server;

/*
 * Fills cfg with the defaults (0.0.0.0:8080, workers = cores, queue 64,
 * 64 MiB, 64 Mpx, 30 s, 1000 connections and 100 per client address,
 * store ./data/segloss.db, jobs kept 24 h, no API keys, no CORS, the web
 * page on, kept masks capped at 16 MiB an item and 1 GiB a run).
 */
void http_config_default(http_config *cfg);

/* Starts serving. Caller stops with http_drain then http_free. NULL with err set on failure. */
http_server *http_start(const http_config *cfg, seg_error *err);

/*
 * Reads the API keys file again (SIGHUP). On failure the old keys stay.
 * Returns the number of keys now loaded, or -1 with err set.
 */
int http_reload_keys(http_server *s, seg_error *err);

/* The port actually bound (useful with port 0). */
int http_port(const http_server *s);

/*
 * Graceful shutdown: /readyz starts failing at once; after delay seconds
 * (while load balancers notice, requests are still accepted) the
 * listening socket is closed, and every request already received is
 * answered. After timeout more seconds, requests still waiting for a
 * worker are answered 503 and only those being computed are awaited.
 * From the start, every answer carries Connection: close; idle keep-alive
 * connections get their next request answered so, and are closed by
 * http_free when still idle. Returns the number of requests that were
 * still open at the timeout.
 */
int http_drain(http_server *s, double delay, double timeout);

/* Stops the daemon and frees everything; call after http_drain. NULL-safe. */
void http_free(http_server *s);

#endif
