/*
 * testutil.h — small helpers shared by the Check suites (not by the core suites,
 * which link the core alone).
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Reads a whole file; caller frees the result with free(). NULL on error. Adds a NUL past *len. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* Writes n bytes (borrowed) to path; 0 on success. */
int tu_write_file(const char *path, const void *data, size_t n);

/* True when |a - b| <= abs_tol + rel_tol * |b| (NaN equals NaN). */
int tu_close(double a, double b, double rel_tol, double abs_tol);

/* Deterministic 64-bit generator (splitmix64) for reproducible random inputs. */
uint64_t tu_rand(uint64_t *state);
/* Uniform double in [0, 1). */
double tu_uniform(uint64_t *state);

/* Seconds on the monotonic clock, for deadlines in tests (never for speed claims). */
double tu_now(void);



/*
 * Reads a little-endian C-order float64 or float32 .npy of shape (h, w)
 * into a new double array (caller frees). Test fixtures only: no general
 * header parsing. NULL on any mismatch.
 */
double *tu_read_npy_f64(const char *path, int *w, int *h);

/*
 * Runs argv (NULL-terminated, borrowed) with stdin from /dev/null and
 * captures stdout and stderr into new NUL-terminated strings (caller
 * frees). Returns the exit status, or -1 when the program could not run
 * or died from a signal.
 */
int tu_run(char *const argv[], char **out, char **err);
#endif
