/*
 * httpclient.h — a minimal blocking HTTP/1.1 client for tests: one
 * request per connection (Connection: close), the whole response read;
 * or requests one after another on a kept-alive connection (hc_open).
 */
#ifndef HTTPCLIENT_H
#define HTTPCLIENT_H

#include <stddef.h>

typedef struct hc_response {
	int status;       /* 0 when the connection failed */
	char *headers;    /* raw header block, NUL-terminated; free with hc_free */
	char *body;       /* NUL-terminated past body_len */
	size_t body_len;
	char error[96];   /* why no response was read: the step and errno text */
} hc_response;

/*
 * Sends method path to 127.0.0.1:port with extra_headers (borrowed,
 * "Name: value\r\n" lines, may be NULL) and body (borrowed, may be NULL).
 * Returns 0 when a response was read.
 */
int hc_request(int port, const char *method, const char *path, const char *extra_headers, const void *body,
	       size_t body_len, hc_response *r);

/* The value of header name in r (case-insensitive), copied into out; 0 if found. */
int hc_header(const hc_response *r, const char *name, char *out, size_t cap);

void hc_free(hc_response *r);

/* A connection to 127.0.0.1:port for hc_exchange: its descriptor (close it), or -1. */
int hc_open(int port);

/*
 * Sends method path without a body on the kept-alive connection fd and
 * reads one response (by its Content-Length). Returns 0 when a whole
 * response was read; otherwise r->error says what happened (the server
 * closing the connection before answering is "closed after N bytes").
 */
int hc_exchange(int fd, const char *method, const char *path, hc_response *r);

#endif
