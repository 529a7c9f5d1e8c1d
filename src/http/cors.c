/*
 * cors.c — the allowed origins, parsed once at start.
 */
#include "http/cors.h"

#include <stdlib.h>
#include <string.h>

#define CORS_MAX_ORIGINS 64
#define CORS_ORIGIN_MAX 255

struct cors {
	int any;
	size_t n;
	char *origin[CORS_MAX_ORIGINS];
};

/* scheme://host[:port]: http or https, a host of letters, digits, '.', '-', or a bracketed IPv6, no path. */
static int valid_origin(const char *s, size_t n)
{
	size_t i;

	if (n > 7 && strncmp(s, "http://", 7) == 0)
		i = 7;
	else if (n > 8 && strncmp(s, "https://", 8) == 0)
		i = 8;
	else
		return 0;
	if (s[i] == '[') {
		const char *close = memchr(s + i, ']', n - i);
		if (close == NULL || close == s + i + 1)
			return 0;
		i = (size_t)(close - s) + 1;
	} else {
		size_t h = i;
		while (i < n && (s[i] == '.' || s[i] == '-' || (s[i] >= 'a' && s[i] <= 'z') ||
				 (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			i++;
		if (i == h)
			return 0;
	}
	if (i < n && s[i] == ':') {
		size_t p = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == p || i - p > 5)
			return 0;
	}
	return i == n;
}

seg_status cors_new(const char *list, cors **out, seg_error *err)
{
	cors *c = NULL;
	const char *p = list;
	seg_status st = SEG_OK;

	*out = NULL;
	if (list == NULL || list[strspn(list, " \t,")] == '\0')
		return SEG_OK;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return seg_fail(err, SEG_ENOMEM, "cors: out of memory");
	while (*p) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
			m--;
		if (m == 1 && p[0] == '*') {
			c->any = 1;
		} else if (m > 0) {
			if (m > CORS_ORIGIN_MAX || !valid_origin(p, m)) {
				st = seg_fail(err, SEG_EINVAL,
					      "CORS origin '%.*s' is not scheme://host[:port] (http or https, no path, no "
					      "trailing '/')",
					      (int)(m < 80 ? m : 80), p);
				goto out;
			}
			if (c->n == CORS_MAX_ORIGINS) {
				st = seg_fail(err, SEG_EINVAL, "at most %d CORS origins", CORS_MAX_ORIGINS);
				goto out;
			}
			c->origin[c->n] = strndup(p, m);
			if (c->origin[c->n] == NULL) {
				st = seg_fail(err, SEG_ENOMEM, "cors: out of memory");
				goto out;
			}
			c->n++;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (c->any && c->n > 0) {
		st = seg_fail(err, SEG_EINVAL, "CORS origins: '*' allows every origin and cannot be listed with others");
		goto out;
	}
	*out = c;
	c = NULL;
out:
	cors_free(c);
	return st;
}

void cors_free(cors *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->origin[i]);
	free(c);
}

const char *cors_allow(const cors *c, const char *origin)
{
	if (c == NULL || origin == NULL)
		return NULL;
	if (c->any)
		return "*";
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->origin[i], origin) == 0)
			return origin;
	return NULL;
}

int cors_varies(const cors *c)
{
	return c != NULL && !c->any;
}
