/*
 * par.h — how the core asks for parallel work without knowing threads.
 *
 * A caller that owns threads passes a seg_par; core loops that split well
 * (the distance transform's column and row passes, the multi-class sums
 * pass) hand it their tasks.
 * With a NULL seg_par everything runs in the calling thread, in order.
 */
#ifndef PAR_H
#define PAR_H

#include <stddef.h>

typedef struct seg_par {
	/*
	 * Runs fn(arg, i) once for every i in [0, n), in any order and possibly
	 * concurrently, and returns when all have returned. ctx is passed back.
	 */
	void (*run)(void *ctx, size_t n, void (*fn)(void *arg, size_t i), void *arg);
	void *ctx;
	int width; /* how many tasks can run at once (>= 1) */
} seg_par;

/* fn over [0, n) through par, or in order in this thread when par is NULL. */
static inline void seg_par_for(const seg_par *par, size_t n, void (*fn)(void *arg, size_t i), void *arg)
{
	if (par && par->run && n > 1) {
		par->run(par->ctx, n, fn, arg);
		return;
	}
	for (size_t i = 0; i < n; i++)
		fn(arg, i);
}

/* How many tasks to split work into: a few per lane, so uneven tasks even out. */
static inline size_t seg_par_tasks(const seg_par *par, size_t max)
{
	size_t t = par && par->width > 1 ? (size_t)par->width * 4 : 1;

	return t < max ? t : (max ? max : 1);
}

#endif
