/*
 * seglossd.c — the daemon's main: configuration, signals, serve, drain.
 *
 * Configuration comes from flags and SEGLOSS_* environment variables,
 * flags winning. Signals are blocked in every thread (the mask is set
 * before any thread starts) and taken synchronously here with sigwait,
 * so no work happens in a signal handler. SIGTERM or SIGINT: readiness
 * fails, the listener closes, requests in flight finish, exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "http/http.h"
#include "log/log.h"
#include "store/store.h"

#define VERSION "0.1.0"

typedef struct config {
	http_config http;
	log_format log;
	double drain_timeout;
	double shutdown_delay;
	int healthcheck;
} config;

static const char help_text[] =
	"usage: seglossd [options]\n"
	"\n"
	"Serves segmentation losses, metrics and weight maps over HTTP (see /v1/openapi.yaml).\n"
	"Every option can also be set by its environment variable; a flag wins.\n"
	"\n"
	"  --port N                  SEGLOSS_PORT                 listening port (8080)\n"
	"  --bind ADDR               SEGLOSS_BIND                 IPv4 or IPv6 address (0.0.0.0)\n"
	"  --workers N               SEGLOSS_WORKERS              worker threads (number of cores)\n"
	"  --queue N                 SEGLOSS_QUEUE                requests that may wait for a worker;\n"
	"                                                         past it, 503 with Retry-After (64)\n"
	"  --max-body SIZE           SEGLOSS_MAX_BODY             request body cap, e.g. 64M (64M)\n"
	"  --max-pixels N            SEGLOSS_MAX_PIXELS           width*height cap per mask (67108864)\n"
	"  --max-classes N           SEGLOSS_MAX_CLASSES          cap on a request's classes (1024)\n"
	"  --log-format text|json    SEGLOSS_LOG_FORMAT           log line format (text)\n"
	"  --timeout SECONDS         SEGLOSS_TIMEOUT              idle connection timeout (30)\n"
	"  --drain-timeout SECONDS   SEGLOSS_DRAIN_TIMEOUT        after that long, requests not yet started\n"
	"                                                         get 503 and only running ones are awaited (25)\n"
	"  --shutdown-delay SECONDS  SEGLOSS_SHUTDOWN_DELAY       on SIGTERM, fail readiness but keep accepting\n"
	"                                                         this long before closing the listener (0)\n"
	"  --max-connections N       SEGLOSS_MAX_CONNECTIONS      total connections (1000)\n"
	"  --max-connections-per-ip N SEGLOSS_MAX_CONNECTIONS_PER_IP  connections per client address (100)\n"
	"  --db PATH|URI             SEGLOSS_DB                   the store of runs and jobs: a SQLite file, created\n"
	"                                                         with its folder; :memory: for none on disk;\n"
	"                                                         postgres://user@host:port/db?sslmode=... (or a\n"
	"                                                         libpq key=value string) for PostgreSQL, shared\n"
	"                                                         by any number of daemons; 'off' disables runs\n"
	"                                                         and jobs (./data/segloss.db)\n"
	"  --db-file PATH            SEGLOSS_DB_FILE              PostgreSQL: a file holding the password (else\n"
	"                                                         PGPASSWORD or PGPASSFILE); never logged\n"
	"  --db-sync normal|full     SEGLOSS_DB_SYNC              normal: recording an item does not wait for the\n"
	"                                                         disk (a machine or database crash may lose the\n"
	"                                                         last fraction of a second of items; jobs always\n"
	"                                                         wait); full: every commit waits (normal)\n"
	"  --job-ttl SECONDS         SEGLOSS_JOB_TTL              how long finished jobs are kept (86400)\n"
	"  --job-lease SECONDS       SEGLOSS_JOB_LEASE            PostgreSQL: a running job's lease, renewed while\n"
	"                                                         it runs; a daemon that dies leaves its job to\n"
	"                                                         another once it expires (30)\n"
	"  --api-keys-file PATH      SEGLOSS_API_KEYS_FILE        API keys, one per line; re-read on SIGHUP\n"
	"                                                         and when the file changes.\n"
	"                                                         With keys, /v1 needs Authorization: Bearer KEY\n"
	"  --api-key KEY             SEGLOSS_API_KEY              one API key (prefer the file or the variable:\n"
	"                                                         a flag shows in the process list)\n"
	"  --cors-origins LIST       SEGLOSS_CORS_ORIGINS         web origins allowed to call the API from a\n"
	"                                                         browser: '*' or scheme://host[:port],... (none)\n"
	"  --ui on|off               SEGLOSS_UI                   the web page at http://HOST:PORT/ (on)\n"
	"  --keep-masks-max-item SIZE SEGLOSS_KEEP_MASKS_MAX_ITEM  keep_masks: an item's target and prediction\n"
	"                                                         are kept up to this size together (16M; 0: never)\n"
	"  --keep-masks-max-run SIZE SEGLOSS_KEEP_MASKS_MAX_RUN   keep_masks: the masks one run keeps, in all (1G)\n"
	"  --healthcheck             query /healthz on 127.0.0.1:PORT; exit 0 if healthy, 1 if not\n"
	"  --help, --version\n";

/* Parses "123", "64K", "64M", "1G" (powers of 1024). */
static int parse_size(const char *s, unsigned long long *out)
{
	char *end = NULL;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'K':
	case 'k':
		v <<= 10;
		end++;
		break;
	case 'M':
	case 'm':
		v <<= 20;
		end++;
		break;
	case 'G':
	case 'g':
		v <<= 30;
		end++;
		break;
	default:
		return -1;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v == 0)
		return -1;
	*out = v;
	return 0;
}

/* A cap in bytes as parse_size reads it, or 0 (nothing is kept). */
static int parse_cap(const char *s, unsigned long long *out)
{
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	return parse_size(s, out);
}

static int parse_uint(const char *s, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Applies one setting (from a flag or the environment); name is the flag's long name. */
static int apply(config *c, const char *name, const char *v, const char *origin)
{
	long n;
	unsigned long long size;

	if (strcmp(name, "port") == 0 && parse_uint(v, 0, 65535, &n) == 0)
		c->http.port = (int)n;
	else if (strcmp(name, "bind") == 0)
		c->http.bind = v;
	else if (strcmp(name, "workers") == 0 && parse_uint(v, 1, 1024, &n) == 0)
		c->http.workers = (int)n;
	else if (strcmp(name, "queue") == 0 && parse_uint(v, 1, 1 << 20, &n) == 0)
		c->http.queue = (int)n;
	else if (strcmp(name, "max-body") == 0 && parse_size(v, &size) == 0)
		c->http.max_body = (size_t)size;
	else if (strcmp(name, "max-pixels") == 0 && parse_size(v, &size) == 0)
		c->http.max_pixels = size;
	else if (strcmp(name, "max-classes") == 0 && parse_uint(v, 1, SEG_MAX_CLASSES, &n) == 0)
		c->http.max_classes = (int)n;
	else if (strcmp(name, "log-format") == 0 && log_parse_format(v, &c->log) == 0)
		log_set_format(c->log);
	else if (strcmp(name, "timeout") == 0 && parse_uint(v, 1, 86400, &n) == 0)
		c->http.timeout = (unsigned)n;
	else if (strcmp(name, "drain-timeout") == 0 && parse_uint(v, 0, 86400, &n) == 0)
		c->drain_timeout = (double)n;
	else if (strcmp(name, "shutdown-delay") == 0 && parse_uint(v, 0, 3600, &n) == 0)
		c->shutdown_delay = (double)n;
	else if (strcmp(name, "max-connections") == 0 && parse_uint(v, 1, 1000000, &n) == 0)
		c->http.max_conns = (unsigned)n;
	else if (strcmp(name, "max-connections-per-ip") == 0 && parse_uint(v, 1, 1000000, &n) == 0)
		c->http.max_conns_per_ip = (unsigned)n;
	else if (strcmp(name, "db") == 0 && v[0])
		c->http.db = strcmp(v, "off") == 0 ? NULL : v;
	else if (strcmp(name, "job-ttl") == 0 && parse_uint(v, 0, 100L * 365 * 86400, &n) == 0)
		c->http.job_ttl_ms = (int64_t)n * 1000;
	else if (strcmp(name, "db-file") == 0 && v[0])
		c->http.db_password_file = v;
	else if (strcmp(name, "db-sync") == 0 && (strcmp(v, "normal") == 0 || strcmp(v, "full") == 0))
		c->http.db_sync_full = strcmp(v, "full") == 0;
	else if (strcmp(name, "job-lease") == 0 && parse_uint(v, 1, 3600, &n) == 0)
		c->http.job_lease_ms = (int)n * 1000;
	else if (strcmp(name, "api-keys-file") == 0 && v[0])
		c->http.api_keys_file = v;
	else if (strcmp(name, "api-key") == 0 && v[0])
		c->http.api_key = v;
	else if (strcmp(name, "cors-origins") == 0)
		c->http.cors_origins = v;
	else if (strcmp(name, "keep-masks-max-item") == 0 && parse_cap(v, &size) == 0)
		c->http.keep_masks_item = size;
	else if (strcmp(name, "keep-masks-max-run") == 0 && parse_cap(v, &size) == 0)
		c->http.keep_masks_run = size;
	else if (strcmp(name, "ui") == 0 && (strcmp(v, "on") == 0 || strcmp(v, "off") == 0))
		c->http.ui = strcmp(v, "on") == 0;
	else {
		fprintf(stderr, "seglossd: invalid value '%s' for %s\n", v, origin);
		return -1;
	}
	return 0;
}

static const struct option long_opts[] = {
	{"port", required_argument, NULL, 0},
	{"bind", required_argument, NULL, 0},
	{"workers", required_argument, NULL, 0},
	{"queue", required_argument, NULL, 0},
	{"max-body", required_argument, NULL, 0},
	{"max-pixels", required_argument, NULL, 0},
	{"max-classes", required_argument, NULL, 0},
	{"log-format", required_argument, NULL, 0},
	{"timeout", required_argument, NULL, 0},
	{"drain-timeout", required_argument, NULL, 0},
	{"shutdown-delay", required_argument, NULL, 0},
	{"max-connections", required_argument, NULL, 0},
	{"max-connections-per-ip", required_argument, NULL, 0},
	{"db", required_argument, NULL, 0},
	{"job-ttl", required_argument, NULL, 0},
	{"db-file", required_argument, NULL, 0},
	{"db-sync", required_argument, NULL, 0},
	{"job-lease", required_argument, NULL, 0},
	{"api-keys-file", required_argument, NULL, 0},
	{"api-key", required_argument, NULL, 0},
	{"cors-origins", required_argument, NULL, 0},
	{"ui", required_argument, NULL, 0},
	{"keep-masks-max-item", required_argument, NULL, 0},
	{"keep-masks-max-run", required_argument, NULL, 0},
	{"healthcheck", no_argument, NULL, 'c'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

/* Environment first, then flags over it. Returns -1 on a bad setting, 1 when done (help/version). */
static int configure(config *c, int argc, char **argv)
{
	int opt, idx;

	http_config_default(&c->http);
	c->log = LOG_TEXT;
	c->drain_timeout = 25;
	c->shutdown_delay = 0;
	c->healthcheck = 0;
	for (const struct option *o = long_opts; o->name; o++) {
		char env[64], *p;
		if (o->has_arg != required_argument)
			continue;
		snprintf(env, sizeof(env), "SEGLOSS_%s", o->name);
		for (p = env; *p; p++)
			*p = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		const char *v = getenv(env);
		/*
		 * Kubernetes injects SEGLOSS_PORT=tcp://10.0.0.1:8080 for a Service named segloss: not ours.
		 * Origins and a PostgreSQL URI hold "://" on purpose.
		 */
		if (v && strstr(v, "://") && strcmp(o->name, "cors-origins") != 0 && strcmp(o->name, "db") != 0) {
			fprintf(stderr, "seglossd: ignoring %s=%s (a service link, not a setting)\n", env, v);
			continue;
		}
		if (v && *v && apply(c, o->name, v, env) != 0)
			return -1;
	}
	while ((opt = getopt_long(argc, argv, "", long_opts, &idx)) != -1) {
		char origin[64];
		switch (opt) {
		case 0:
			snprintf(origin, sizeof(origin), "--%s", long_opts[idx].name);
			if (apply(c, long_opts[idx].name, optarg, origin) != 0)
				return -1;
			break;
		case 'c':
			c->healthcheck = 1;
			break;
		case 'h':
			fputs(help_text, stdout);
			return 1;
		case 'V':
			puts("seglossd " VERSION);
			return 1;
		default:
			fputs("seglossd: see seglossd --help\n", stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "seglossd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/*
 * GET /healthz on the configured port: 0 when it answers 200. The address
 * is the bind address, or loopback when the daemon binds every address
 * (0.0.0.0: 127.0.0.1, "::": ::1).
 */
static int healthcheck(const config *c)
{
	struct sockaddr_storage a;
	socklen_t alen;
	struct timeval tv = {2, 0};
	char resp[64] = {0};
	const char request[] = "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n";
	const char *host = c->http.bind;
	int v6 = strchr(host, ':') != NULL, fd, ok = 0;

	memset(&a, 0, sizeof(a));
	if (strcmp(host, "0.0.0.0") == 0)
		host = "127.0.0.1";
	else if (strcmp(host, "::") == 0)
		host = "::1";
	if (v6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)c->http.port);
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return 1;
		alen = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&a;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)c->http.port);
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return 1;
		alen = sizeof(*a4);
	}
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, alen) == 0 &&
	    send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(request) - 1) &&
	    recv(fd, resp, sizeof(resp) - 1, MSG_WAITALL) > 12)
		ok = strncmp(resp, "HTTP/1.1 200", 12) == 0 || strncmp(resp, "HTTP/1.0 200", 12) == 0;
	close(fd);
	fprintf(stderr, "seglossd: healthcheck on port %d: %s\n", c->http.port, ok ? "healthy" : "unhealthy");
	return ok ? 0 : 1;
}

/* Modification time of path, zero when there is none. */
static struct timespec file_mtime(const char *path)
{
	struct stat st;
	struct timespec zero = {0, 0};

	if (path == NULL || stat(path, &st) != 0)
		return zero;
	return st.st_mtim;
}

int main(int argc, char **argv)
{
	config c;
	sigset_t set;
	seg_error err = {0};
	http_server *srv;
	int sig = 0, rc;

	rc = configure(&c, argc, argv);
	if (rc != 0)
		return rc < 0 ? 2 : 0;
	if (c.healthcheck)
		return healthcheck(&c);

	/* Before any thread exists: every thread inherits this mask. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	srv = http_start(&c.http, &err);
	if (srv == NULL) {
		log_msg("error", "cannot start: %s", err.msg);
		return 1;
	}
	{
		char port[16], workers[16], queue[16], body[32], px[32], db[256];
		snprintf(port, sizeof(port), "%d", http_port(srv));
		snprintf(workers, sizeof(workers), "%d", c.http.workers);
		snprintf(queue, sizeof(queue), "%d", c.http.queue);
		snprintf(body, sizeof(body), "%zu", c.http.max_body);
		snprintf(px, sizeof(px), "%llu", (unsigned long long)c.http.max_pixels);
		/* A PostgreSQL address may hold a password: logged without it. */
		if (c.http.db)
			store_describe(c.http.db, db, sizeof(db));
		const char *kv[] = {"version", VERSION, "bind", c.http.bind, "port", port, "workers", workers,
				    "queue", queue, "max_body", body, "max_pixels", px, "db", c.http.db ? db : "off",
				    "api_keys", c.http.api_keys_file || c.http.api_key ? "on" : "off",
				    "cors", c.http.cors_origins && c.http.cors_origins[0] ? c.http.cors_origins : "off",
				    "ui", c.http.ui ? "on" : "off"};
		log_line("info", "seglossd listening", kv, 11);
	}
	/*
	 * Signals, and every 5 s a look at the keys file: a container has no
	 * shell to send SIGHUP from, so a changed file (a rotated Secret) is
	 * reloaded on its own.
	 */
	struct timespec tick = {5, 0};
	struct timespec keys_mtime = file_mtime(c.http.api_keys_file);
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig < 0) {
			struct timespec m = file_mtime(c.http.api_keys_file);
			if (m.tv_sec == keys_mtime.tv_sec && m.tv_nsec == keys_mtime.tv_nsec)
				continue;
			keys_mtime = m;
		} else if (sig != SIGHUP) {
			break;
		}
		const char *why = sig < 0 ? "keys file changed" : "SIGHUP";
		int n = http_reload_keys(srv, &err);
		if (n < 0)
			log_msg("warn", "%s: API keys not reloaded: %s", why, err.msg);
		else
			log_msg("info", "%s: API keys reloaded (%d keys)", why, n);
	}
	log_msg("info", "%s received: draining (readiness off%s, then at most %.0f s)", sig == SIGINT ? "SIGINT" : "SIGTERM",
		c.shutdown_delay > 0 ? ", accepting for the shutdown delay" : "", c.drain_timeout);
	int left = http_drain(srv, c.shutdown_delay, c.drain_timeout);
	if (left > 0)
		log_msg("warn", "%d requests still open after the drain timeout", left);
	http_free(srv);
	log_msg("info", "seglossd stopped");
	return 0;
}
