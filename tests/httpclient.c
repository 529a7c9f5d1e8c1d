/*
 * httpclient.c — see httpclient.h. Reads until the server closes, then
 * splits headers from body; chunked responses are not expected (the
 * daemon always sends Content-Length).
 */
#define _GNU_SOURCE /* strcasestr */
#include "httpclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int send_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR) /* a signal for another thread (a child exiting) */
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int hc_request(int port, const char *method, const char *path, const char *extra_headers, const void *body,
	       size_t body_len, hc_response *r)
{
	struct sockaddr_in a = {0};
	struct timeval tv = {60, 0};
	char head[4096];
	size_t cap = 65536, len = 0;
	char *buf = NULL;
	int fd, rc = -1;

	memset(r, 0, sizeof(*r));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		snprintf(r->error, sizeof(r->error), "connect: %s", strerror(errno));
		goto out;
	}
	int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s",
			 method, path, extra_headers ? extra_headers : "");
	if (body)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n", body_len);
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	if (send_all(fd, head, (size_t)n) != 0) {
		snprintf(r->error, sizeof(r->error), "send: %s", strerror(errno));
		goto out;
	}
	/* A server may answer early (413) and close; a failed send is then not an error. */
	if (body && body_len)
		send_all(fd, body, body_len);
	buf = malloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			char *t = realloc(buf, cap);
			if (t == NULL)
				goto out;
			buf = t;
		}
		ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			snprintf(r->error, sizeof(r->error), "recv after %zu bytes: %s", len, strerror(errno));
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	buf[len] = '\0';
	char *end = strstr(buf, "\r\n\r\n");
	if (len < 12 || end == NULL) {
		if (r->error[0] == '\0')
			snprintf(r->error, sizeof(r->error), "closed after %zu bytes", len);
		goto out;
	}
	r->status = atoi(buf + 9);
	*end = '\0';
	r->headers = strdup(buf);
	r->body_len = len - (size_t)(end + 4 - buf);
	r->body = malloc(r->body_len + 1);
	memcpy(r->body, end + 4, r->body_len);
	r->body[r->body_len] = '\0';
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int hc_header(const hc_response *r, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	const char *p = r->headers;

	while (p && (p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			size_t k = strcspn(v, "\r\n");
			if (k >= cap)
				k = cap - 1;
			memcpy(out, v, k);
			out[k] = '\0';
			return 0;
		}
	}
	return -1;
}

void hc_free(hc_response *r)
{
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

int hc_open(int port)
{
	struct sockaddr_in a = {0};
	struct timeval tv = {60, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int hc_exchange(int fd, const char *method, const char *path, hc_response *r)
{
	char buf[16384];
	size_t len = 0, want = 0;
	char *end = NULL;

	memset(r, 0, sizeof(*r));
	int n = snprintf(buf, sizeof(buf), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method, path);
	if (send_all(fd, buf, (size_t)n) != 0) {
		snprintf(r->error, sizeof(r->error), "send: %s", strerror(errno));
		return -1;
	}
	buf[0] = '\0';
	for (;;) {
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			*end = '\0';
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (end && len >= want)
			break;
		if (len + 1 >= sizeof(buf)) {
			snprintf(r->error, sizeof(r->error), "a response over %zu bytes", sizeof(buf));
			return -1;
		}
		ssize_t k = recv(fd, buf + len, sizeof(buf) - len - 1, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(r->error, sizeof(r->error), "closed after %zu bytes%s%s", len, k < 0 ? ": " : "",
				 k < 0 ? strerror(errno) : "");
			return -1;
		}
		len += (size_t)k;
		buf[len] = '\0';
	}
	r->status = atoi(buf + 9);
	r->headers = strdup(buf);
	r->body_len = want - (size_t)(end + 4 - buf);
	r->body = malloc(r->body_len + 1);
	memcpy(r->body, end + 4, r->body_len);
	r->body[r->body_len] = '\0';
	return 0;
}
