/*
 * auth.h — API keys: the set a request's bearer token is checked against.
 *
 * Keys come from a file (one per line; blank lines and lines starting
 * with '#' are ignored) and/or one key given directly. The file can be
 * read again at any time (SIGHUP); readers never see a half-loaded set.
 * Tokens are compared in constant time, and keys are never logged.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>

#include "core/seg.h"

#define AUTH_KEY_MAX 255

typedef struct auth auth;

/*
 * Loads keys from file (may be NULL) plus key (may be NULL). Returns NULL
 * with err set when the file cannot be read or holds an invalid key
 * (empty, longer than AUTH_KEY_MAX, or with spaces/control characters).
 * *out is NULL without error when neither source gives a key (no auth).
 */
seg_status auth_new(const char *file, const char *key, auth **out, seg_error *err);
void auth_free(auth *a);

/* Re-reads the file; on failure the old keys stay and err says why. */
seg_status auth_reload(auth *a, seg_error *err);

/* Number of keys loaded. */
size_t auth_count(auth *a);

/*
 * 1 when the Authorization header value (borrowed, may be NULL) is
 * "Bearer <key>" for a loaded key. Time does not depend on where a
 * token differs from a key.
 */
int auth_check(auth *a, const char *authorization);

#endif
