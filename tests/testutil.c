/*
 * testutil.c — file I/O, tolerant comparison and a seeded generator for tests.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint8_t *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long size;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	data = malloc((size_t)size + 1);
	if (data == NULL)
		goto out;
	if (fread(data, 1, (size_t)size, f) != (size_t)size) {
		free(data);
		data = NULL;
		goto out;
	}
	data[size] = 0;
	*len = (size_t)size;
out:
	fclose(f);
	return data;
}

int tu_write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	int rc = -1;

	if (f == NULL)
		return -1;
	if (fwrite(data, 1, n, f) == n)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

int tu_close(double a, double b, double rel_tol, double abs_tol)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	if (isinf(a) || isinf(b))
		return a == b;
	return fabs(a - b) <= abs_tol + rel_tol * fabs(b);
}

uint64_t tu_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double tu_uniform(uint64_t *state)
{
	return (double)(tu_rand(state) >> 11) * 0x1.0p-53;
}

double *tu_read_npy_f64(const char *path, int *w, int *h)
{
	size_t len = 0;
	uint8_t *data = tu_read_file(path, &len);
	double *out = NULL;
	const char *hdr, *shape;
	size_t hlen, off;
	int f8;
	long a, b;

	if (data == NULL || len < 10 || memcmp(data, "\x93NUMPY", 6) != 0)
		goto out;
	if (data[6] == 1) {
		hlen = (size_t)data[8] | (size_t)data[9] << 8;
		off = 10;
	} else {
		hlen = (size_t)data[8] | (size_t)data[9] << 8 | (size_t)data[10] << 16 | (size_t)data[11] << 24;
		off = 12;
	}
	hdr = (const char *)data + off;
	if (off + hlen > len)
		goto out;
	f8 = strstr(hdr, "'<f8'") != NULL;
	if (!f8 && strstr(hdr, "'<f4'") == NULL)
		goto out;
	if (strstr(hdr, "'fortran_order': False") == NULL)
		goto out;
	shape = strstr(hdr, "'shape': (");
	if (shape == NULL || sscanf(shape, "'shape': (%ld, %ld)", &a, &b) != 2)
		goto out;
	off += hlen;
	size_t n = (size_t)a * (size_t)b, item = f8 ? 8 : 4;
	if (len - off != n * item)
		goto out;
	out = malloc(n * sizeof(double));
	if (out == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (f8) {
			memcpy(&out[i], data + off + i * 8, 8);
		} else {
			float f;
			memcpy(&f, data + off + i * 4, 4);
			out[i] = f;
		}
	}
	*h = (int)a;
	*w = (int)b;
out:
	free(data);
	return out;
}

static char *slurp_fd(int fd)
{
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	while (s && (n = read(fd, s + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			char *t = realloc(s, cap * 2);
			if (t == NULL) {
				free(s);
				return NULL;
			}
			s = t;
			cap *= 2;
		}
	}
	if (s)
		s[len] = 0;
	return s;
}

int tu_run(char *const argv[], char **out, char **err)
{
	char opath[] = "/tmp/tu_outXXXXXX", epath[] = "/tmp/tu_errXXXXXX";
	int ofd = mkstemp(opath), efd = mkstemp(epath), status = -1;
	pid_t pid;

	*out = *err = NULL;
	if (ofd < 0 || efd < 0)
		goto out;
	unlink(opath);
	unlink(epath);
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(ofd, 1);
		dup2(efd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		goto out;
	*out = slurp_fd(ofd);
	*err = slurp_fd(efd);
	status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
out:
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	return status;
}

double tu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
