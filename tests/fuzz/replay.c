/*
 * replay.c — runs a fuzz target over stored inputs, without libFuzzer.
 *
 *   replay DIR_OR_FILE...
 *
 * Linked with one fuzz_*.c, it calls LLVMFuzzerTestOneInput once on every
 * regular file of the directories given (in name order, hidden files
 * skipped) and on files named directly, then prints how many inputs ran.
 * This is how the seed corpus and the regression inputs run as an
 * ordinary test, under any compiler and SANITIZE setting. Each input is
 * passed in a buffer of exactly its size, so the sanitizers see any read
 * past its end. When an input kills the process (a failed invariant's
 * abort, a signal, or a sanitizer report) its path is printed on the way
 * out: by a signal handler, and by the sanitizer runtime's death callback
 * when one is linked in. Exits 1 when a path cannot be read.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzzutil.h"

/* Present when a sanitizer runtime is linked in; called before it exits on a report. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static const char *current; /* the input being run, for the reports below */

/* Writes the current input's path on stderr (async-signal-safe). */
static void name_input(void)
{
	static const char prefix[] = "replay: failed on input ";
	ssize_t ignored;

	if (current == NULL)
		return;
	ignored = write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
	ignored = write(STDERR_FILENO, current, strlen(current));
	ignored = write(STDERR_FILENO, "\n", 1);
	(void)ignored;
}

static void on_fatal_signal(int sig)
{
	name_input();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Names the input on the way out of an abort (a failed invariant); with a
 * sanitizer linked in, its death callback covers the rest and its own
 * SIGSEGV handler stays in place, otherwise the handler takes the other
 * fatal signals too.
 */
static void watch_deaths(void)
{
	static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
	size_t nsigs = sizeof(sigs) / sizeof(sigs[0]);
	struct sigaction sa;

	if (__sanitizer_set_death_callback != NULL) {
		__sanitizer_set_death_callback(name_input);
		nsigs = 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < nsigs; i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Reads the whole file at path into a new buffer of exactly its size (caller frees); NULL on error. */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	struct stat sb;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0)
		goto out;
	/* malloc(0) may return NULL; one byte keeps empty inputs apart from errors. */
	data = malloc(sb.st_size > 0 ? (size_t)sb.st_size : 1);
	if (data == NULL)
		goto out;
	if (fread(data, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
		free(data);
		data = NULL;
		goto out;
	}
	*len = (size_t)sb.st_size;
out:
	fclose(f);
	return data;
}

/* Runs the target on one file; 0 on success, -1 when it cannot be read. */
static int run_file(const char *path)
{
	size_t len;
	uint8_t *data = read_file(path, &len);

	if (data == NULL) {
		fprintf(stderr, "replay: cannot read '%s': %s\n", path, strerror(errno ? errno : EIO));
		return -1;
	}
	current = path;
	LLVMFuzzerTestOneInput(data, len);
	current = NULL;
	free(data);
	return 0;
}

static int skip_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Runs the target on every regular file of dir; adds to *count; -1 on a read error. */
static int run_dir(const char *dir, size_t *count)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, skip_hidden, alphasort);
	int rc = 0;

	if (n < 0) {
		fprintf(stderr, "replay: cannot list '%s': %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat sb;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (rc == 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
			if (run_file(path) != 0)
				rc = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	watch_deaths();
	for (int i = 1; i < argc && rc == 0; i++) {
		struct stat sb;

		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "replay: cannot read '%s': %s\n", argv[i], strerror(errno));
			rc = -1;
		} else if (S_ISDIR(sb.st_mode)) {
			rc = run_dir(argv[i], &count);
		} else if (run_file(argv[i]) != 0) {
			rc = -1;
		} else {
			count++;
		}
	}
	if (rc != 0)
		return 1;
	printf("%s: %zu inputs replayed\n", argv[0], count);
	return 0;
}
