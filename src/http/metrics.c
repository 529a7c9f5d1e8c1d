/*
 * metrics.c — atomics in, Prometheus text out.
 *
 * Histograms keep cumulative-free bucket counts (each observation bumps
 * exactly one bucket) plus a count and a sum in nanoseconds; rendering
 * accumulates them into the cumulative `le` series Prometheus expects.
 * process_* metrics are read from /proc at render time, as the official
 * client libraries do.
 */
#include "http/metrics.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SEGLOSS_VERSION "0.1.0"

static const int codes[] = {200, 202, 204, 304, 400, 401, 404, 405, 406, 409, 411, 413, 415, 422, 429, 500, 503};
#define NCODES ((int)(sizeof(codes) / sizeof(codes[0])))
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBUCKETS ((int)(sizeof(buckets) / sizeof(buckets[0])))
static const char *const decode_kinds[] = {"png", "npy", "base64", "json", "multipart"};
#define NKINDS 5

typedef struct histogram {
	atomic_ullong bucket[NBUCKETS + 1]; /* last: +Inf */
	atomic_ullong count;
	atomic_ullong sum_ns;
} histogram;

struct metrics {
	const char *const *routes;
	int nroutes;
	atomic_ullong *requests; /* [route][code], code NCODES = other */
	histogram *duration;     /* per route */
	histogram compute;
	histogram job_wait;
	histogram job_run;
	atomic_ullong decode_errors[NKINDS];
	atomic_ullong bytes_in;
	double start_time;
};

metrics *metrics_new(const char *const *route_names, int nroutes)
{
	metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->routes = route_names;
	m->nroutes = nroutes;
	m->requests = calloc((size_t)nroutes * (NCODES + 1), sizeof(*m->requests));
	m->duration = calloc((size_t)nroutes, sizeof(*m->duration));
	if (m->requests == NULL || m->duration == NULL) {
		metrics_free(m);
		return NULL;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	m->start_time = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
	return m;
}

void metrics_free(metrics *m)
{
	if (m == NULL)
		return;
	free(m->requests);
	free(m->duration);
	free(m);
}

static void observe(histogram *h, double seconds)
{
	int b = 0;

	if (seconds < 0)
		seconds = 0;
	while (b < NBUCKETS && seconds > buckets[b])
		b++;
	atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, (unsigned long long)(seconds * 1e9), memory_order_relaxed);
}

void metrics_request(metrics *m, int route, int status, double seconds, size_t bytes_in)
{
	int c;

	if (route < 0 || route >= m->nroutes)
		return;
	for (c = 0; c < NCODES && codes[c] != status; c++)
		;
	atomic_fetch_add_explicit(&m->requests[route * (NCODES + 1) + c], 1, memory_order_relaxed);
	observe(&m->duration[route], seconds);
	atomic_fetch_add_explicit(&m->bytes_in, bytes_in, memory_order_relaxed);
}

void metrics_compute(metrics *m, double seconds)
{
	observe(&m->compute, seconds);
}

void metrics_job_wait(metrics *m, double seconds)
{
	observe(&m->job_wait, seconds);
}

void metrics_job_run(metrics *m, double seconds)
{
	observe(&m->job_run, seconds);
}

void metrics_decode_error(metrics *m, const char *kind)
{
	for (int k = 0; kind && k < NKINDS; k++)
		if (strcmp(kind, decode_kinds[k]) == 0)
			atomic_fetch_add_explicit(&m->decode_errors[k], 1, memory_order_relaxed);
}

static seg_status render_histogram(buf *out, const char *name, const char *label, const histogram *h)
{
	unsigned long long cum = 0;
	seg_status st = SEG_OK;
	const char *sep = label[0] ? "," : "";

	for (int b = 0; b <= NBUCKETS && st == SEG_OK; b++) {
		cum += atomic_load_explicit(&h->bucket[b], memory_order_relaxed);
		if (b < NBUCKETS)
			st = buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, label, sep, buckets[b], cum);
		else
			st = buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, label, sep, cum);
	}
	if (st == SEG_OK)
		st = buf_printf(out, "%s_sum%s%s%s %.9f\n", name, label[0] ? "{" : "", label, label[0] ? "}" : "",
				(double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) * 1e-9);
	if (st == SEG_OK)
		st = buf_printf(out, "%s_count%s%s%s %llu\n", name, label[0] ? "{" : "", label, label[0] ? "}" : "",
				(unsigned long long)atomic_load_explicit(&h->count, memory_order_relaxed));
	return st;
}

/* process_* from /proc/self: CPU seconds, memory, file descriptors, start time. */
static seg_status render_process(buf *out, double start_time)
{
	FILE *f;
	unsigned long utime = 0, stime = 0, vsize = 0;
	long rss = 0;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	int fds = 0;
	struct rlimit rl;
	seg_status st;

	f = fopen("/proc/self/stat", "r");
	if (f) {
		char line[1024];
		if (fgets(line, sizeof(line), f)) {
			/* Fields after the ")" that closes the command name: state is field 3. */
			char *p = strrchr(line, ')');
			if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d "
						 "%*d %*d %*u %lu %ld",
					 &utime, &stime, &vsize, &rss) != 4)
				utime = stime = vsize = 0, rss = 0;
		}
		fclose(f);
	}
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				fds++;
		closedir(d);
		fds--; /* the directory stream itself */
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	st = buf_printf(out,
			"# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
			"# TYPE process_cpu_seconds_total counter\n"
			"process_cpu_seconds_total %.2f\n"
			"# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
			"# TYPE process_resident_memory_bytes gauge\n"
			"process_resident_memory_bytes %ld\n"
			"# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
			"# TYPE process_virtual_memory_bytes gauge\n"
			"process_virtual_memory_bytes %lu\n"
			"# HELP process_open_fds Number of open file descriptors.\n"
			"# TYPE process_open_fds gauge\n"
			"process_open_fds %d\n"
			"# HELP process_max_fds Maximum number of open file descriptors.\n"
			"# TYPE process_max_fds gauge\n"
			"process_max_fds %llu\n"
			"# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
			"# TYPE process_start_time_seconds gauge\n"
			"process_start_time_seconds %.3f\n",
			(double)(utime + stime) / (double)tick, rss * page, vsize, fds,
			(unsigned long long)rl.rlim_cur, start_time);
	return st;
}

seg_status metrics_render(metrics *m, const metrics_gauges *g, buf *out)
{
	seg_status st;

	st = buf_printf(out, "# HELP segloss_build_info Build information; the value is always 1.\n"
			     "# TYPE segloss_build_info gauge\n"
			     "segloss_build_info{version=\"%s\"} 1\n"
			     "# HELP segloss_http_requests_total HTTP requests by route and status code.\n"
			     "# TYPE segloss_http_requests_total counter\n",
			SEGLOSS_VERSION);
	for (int r = 0; r < m->nroutes && st == SEG_OK; r++) {
		for (int c = 0; c <= NCODES && st == SEG_OK; c++) {
			unsigned long long v =
				atomic_load_explicit(&m->requests[r * (NCODES + 1) + c], memory_order_relaxed);
			if (v == 0)
				continue;
			if (c < NCODES)
				st = buf_printf(out, "segloss_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
						m->routes[r], codes[c], v);
			else
				st = buf_printf(out, "segloss_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
						m->routes[r], v);
		}
	}
	if (st == SEG_OK)
		st = buf_puts(out, "# HELP segloss_http_request_duration_seconds Time from a request's headers "
				   "until its response was sent.\n"
				   "# TYPE segloss_http_request_duration_seconds histogram\n");
	for (int r = 0; r < m->nroutes && st == SEG_OK; r++) {
		char label[96];
		snprintf(label, sizeof(label), "route=\"%s\"", m->routes[r]);
		st = render_histogram(out, "segloss_http_request_duration_seconds", label, &m->duration[r]);
	}
	if (st == SEG_OK)
		st = buf_puts(out, "# HELP segloss_compute_duration_seconds Time a worker spent on one request "
				   "(decode, compute, encode).\n"
				   "# TYPE segloss_compute_duration_seconds histogram\n");
	if (st == SEG_OK)
		st = render_histogram(out, "segloss_compute_duration_seconds", "", &m->compute);
	if (st == SEG_OK)
		st = buf_puts(out, "# HELP segloss_decode_errors_total Rejected uploads by decoder.\n"
				   "# TYPE segloss_decode_errors_total counter\n");
	for (int k = 0; k < NKINDS && st == SEG_OK; k++)
		st = buf_printf(out, "segloss_decode_errors_total{kind=\"%s\"} %llu\n", decode_kinds[k],
				(unsigned long long)atomic_load_explicit(&m->decode_errors[k], memory_order_relaxed));
	if (st == SEG_OK)
		st = buf_printf(out,
				"# HELP segloss_http_request_bytes_total Request body bytes received.\n"
				"# TYPE segloss_http_request_bytes_total counter\n"
				"segloss_http_request_bytes_total %llu\n"
				"# HELP segloss_queue_depth Requests waiting for a worker.\n"
				"# TYPE segloss_queue_depth gauge\n"
				"segloss_queue_depth %d\n"
				"# HELP segloss_queue_capacity Requests that may wait before new ones get 503.\n"
				"# TYPE segloss_queue_capacity gauge\n"
				"segloss_queue_capacity %d\n"
				"# HELP segloss_workers_busy Workers computing a request.\n"
				"# TYPE segloss_workers_busy gauge\n"
				"segloss_workers_busy %d\n"
				"# HELP segloss_workers Worker threads.\n"
				"# TYPE segloss_workers gauge\n"
				"segloss_workers %d\n"
				"# HELP segloss_http_requests_in_flight Requests received and not yet answered.\n"
				"# TYPE segloss_http_requests_in_flight gauge\n"
				"segloss_http_requests_in_flight %d\n"
				"# HELP segloss_draining 1 while the daemon is shutting down.\n"
				"# TYPE segloss_draining gauge\n"
				"segloss_draining %d\n",
				(unsigned long long)atomic_load_explicit(&m->bytes_in, memory_order_relaxed),
				g->queue_depth, g->queue_capacity, g->workers_busy, g->workers, g->inflight,
				g->draining);
	if (st == SEG_OK && g->has_store) {
		static const char *const status[5] = {"queued", "running", "done", "failed", "canceled"};
		st = buf_puts(out, "# HELP segloss_jobs Jobs in the store by status.\n"
				   "# TYPE segloss_jobs gauge\n");
		for (int k = 0; k < 5 && st == SEG_OK && g->store_ok; k++)
			st = buf_printf(out, "segloss_jobs{status=\"%s\"} %lld\n", status[k], (long long)g->jobs[k]);
		if (st == SEG_OK)
			st = buf_puts(out, "# HELP segloss_job_wait_seconds Time finished jobs waited in the queue.\n"
					   "# TYPE segloss_job_wait_seconds histogram\n");
		if (st == SEG_OK)
			st = render_histogram(out, "segloss_job_wait_seconds", "", &m->job_wait);
		if (st == SEG_OK)
			st = buf_puts(out, "# HELP segloss_job_run_seconds Time finished jobs took to run.\n"
					   "# TYPE segloss_job_run_seconds histogram\n");
		if (st == SEG_OK)
			st = render_histogram(out, "segloss_job_run_seconds", "", &m->job_run);
		if (st == SEG_OK)
			st = buf_printf(out,
					"# HELP segloss_store_write_errors_total Store writes that failed (disk full, "
					"read-only file, I/O, a lost connection).\n"
					"# TYPE segloss_store_write_errors_total counter\n"
					"segloss_store_write_errors_total %llu\n"
					"# HELP segloss_store_size_bytes Size of the store's database (the SQLite file, or "
					"the PostgreSQL database, sampled every 10 s).\n"
					"# TYPE segloss_store_size_bytes gauge\n"
					"segloss_store_size_bytes %lld\n"
					"# HELP segloss_store_up 1 when the store answers, 0 while it cannot be reached.\n"
					"# TYPE segloss_store_up gauge\n"
					"segloss_store_up{backend=\"%s\"} %d\n"
					"# HELP segloss_store_errors_total Store calls that failed (the database "
					"unreachable, a disk full, ...), by backend.\n"
					"# TYPE segloss_store_errors_total counter\n"
					"segloss_store_errors_total{backend=\"%s\"} %llu\n"
					"# HELP segloss_store_reconnects_total Connections to the store opened again after "
					"one was lost, by backend.\n"
					"# TYPE segloss_store_reconnects_total counter\n"
					"segloss_store_reconnects_total{backend=\"%s\"} %llu\n",
					(unsigned long long)g->store_write_errors, (long long)g->db_bytes, g->store_backend,
					g->store_up, g->store_backend, (unsigned long long)g->store_errors, g->store_backend,
					(unsigned long long)g->store_reconnects);
	}
	if (st == SEG_OK)
		st = render_process(out, m->start_time);
	return st;
}
