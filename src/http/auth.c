/*
 * auth.c — API keys behind a reader-writer lock.
 *
 * Every key is kept in a fixed 256-byte slot, zero-padded, and a token is
 * compared with every slot over all 256 bytes, OR-ing the differences
 * (and the length difference) together: the work is the same whatever
 * the token, so its timing tells nothing about how close it came.
 */
#include "http/auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SLOT (AUTH_KEY_MAX + 1)
#define MAX_KEYS 1024

typedef struct keyset {
	size_t n;
	unsigned char (*keys)[SLOT];
	size_t *len;
} keyset;

struct auth {
	pthread_rwlock_t lock;
	char *file;
	char *key;
	keyset set;
};

static void keyset_release(keyset *k)
{
	free(k->keys);
	free(k->len);
	memset(k, 0, sizeof(*k));
}

static seg_status keyset_add(keyset *k, const char *key, size_t n, const char *where, seg_error *err)
{
	if (n == 0 || n > AUTH_KEY_MAX)
		return seg_fail(err, SEG_EINVAL, "%s: a key must be 1 to %d characters", where, AUTH_KEY_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7f)
			return seg_fail(err, SEG_EINVAL, "%s: keys are printable ASCII without spaces", where);
	if (k->n == MAX_KEYS)
		return seg_fail(err, SEG_EINVAL, "%s: more than %d keys", where, MAX_KEYS);
	if (k->n % 16 == 0) {
		void *a = realloc(k->keys, (k->n + 16) * SLOT);
		void *b = realloc(k->len, (k->n + 16) * sizeof(size_t));
		if (a)
			k->keys = a;
		if (b)
			k->len = b;
		if (a == NULL || b == NULL)
			return seg_fail(err, SEG_ENOMEM, "out of memory");
	}
	memset(k->keys[k->n], 0, SLOT);
	memcpy(k->keys[k->n], key, n);
	k->len[k->n] = n;
	k->n++;
	return SEG_OK;
}

/* Builds a key set from the file and the single key. */
static seg_status load(const char *file, const char *key, keyset *out, seg_error *err)
{
	keyset k = {0, NULL, NULL};
	FILE *f = NULL;
	char line[1024];
	seg_status st = SEG_OK;
	int lineno = 0;

	if (key && *key)
		st = keyset_add(&k, key, strlen(key), "SEGLOSS_API_KEY", err);
	if (st == SEG_OK && file && *file) {
		f = fopen(file, "r");
		if (f == NULL) {
			st = seg_fail(err, SEG_EIO, "cannot read API keys file '%s': %s", file, strerror(errno));
			goto out;
		}
		while (st == SEG_OK && fgets(line, sizeof(line), f)) {
			char where[64];
			size_t n = strlen(line);
			lineno++;
			while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
				line[--n] = '\0';
			char *p = line;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '\0' || *p == '#')
				continue;
			snprintf(where, sizeof(where), "API keys file line %d", lineno);
			st = keyset_add(&k, p, strlen(p), where, err);
		}
	}
out:
	if (f)
		fclose(f);
	if (st != SEG_OK) {
		keyset_release(&k);
		return st;
	}
	*out = k;
	return SEG_OK;
}

seg_status auth_new(const char *file, const char *key, auth **out, seg_error *err)
{
	keyset k;
	auth *a;
	seg_status st;

	*out = NULL;
	if ((file == NULL || *file == '\0') && (key == NULL || *key == '\0'))
		return SEG_OK;
	st = load(file, key, &k, err);
	if (st != SEG_OK)
		return st;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		keyset_release(&k);
		return seg_fail(err, SEG_ENOMEM, "out of memory");
	}
	a->file = file ? strdup(file) : NULL;
	a->key = key ? strdup(key) : NULL;
	a->set = k;
	pthread_rwlock_init(&a->lock, NULL);
	*out = a;
	return SEG_OK;
}

void auth_free(auth *a)
{
	if (a == NULL)
		return;
	keyset_release(&a->set);
	pthread_rwlock_destroy(&a->lock);
	if (a->key)
		explicit_bzero(a->key, strlen(a->key));
	free(a->key);
	free(a->file);
	free(a);
}

seg_status auth_reload(auth *a, seg_error *err)
{
	keyset k, old;
	seg_status st = load(a->file, a->key, &k, err);

	if (st != SEG_OK)
		return st;
	pthread_rwlock_wrlock(&a->lock);
	old = a->set;
	a->set = k;
	pthread_rwlock_unlock(&a->lock);
	keyset_release(&old);
	return SEG_OK;
}

size_t auth_count(auth *a)
{
	size_t n;

	pthread_rwlock_rdlock(&a->lock);
	n = a->set.n;
	pthread_rwlock_unlock(&a->lock);
	return n;
}

int auth_check(auth *a, const char *authorization)
{
	unsigned char token[SLOT];
	size_t n;
	int ok = 0;

	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return 0;
	authorization += 7;
	while (*authorization == ' ')
		authorization++;
	n = strlen(authorization);
	if (n == 0 || n > AUTH_KEY_MAX)
		return 0;
	memset(token, 0, sizeof(token));
	memcpy(token, authorization, n);
	pthread_rwlock_rdlock(&a->lock);
	for (size_t k = 0; k < a->set.n; k++) {
		unsigned diff = (unsigned)(a->set.len[k] ^ n);
		for (size_t i = 0; i < SLOT; i++)
			diff |= a->set.keys[k][i] ^ token[i];
		ok |= diff == 0;
	}
	pthread_rwlock_unlock(&a->lock);
	explicit_bzero(token, sizeof(token));
	return ok;
}
