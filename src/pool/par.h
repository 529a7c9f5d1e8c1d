/*
 * par.h — a parallel-for executor: helper threads that join the calling
 * thread on one loop at a time.
 *
 * par_run publishes a loop; the caller and every idle helper take
 * indices from a shared counter until none are left. If another loop is
 * already running (another request got there first), the caller simply
 * runs its loop alone: no queueing, no deadlock, and never more threads
 * busy than there are cores.
 */
#ifndef PARX_H
#define PARX_H

#include <stddef.h>

#include "core/par.h"
#include "core/seg.h"

typedef struct par_exec par_exec;

/* Starts helpers threads (0: every loop runs in its caller). Free with par_free. */
par_exec *par_new(int helpers, seg_error *err);
void par_free(par_exec *x);

/*
 * The CPUs this process may really use: the online cores, narrowed by the
 * affinity mask and by a cgroup v2 CPU quota (a container's CPU limit),
 * so a pod limited to 2 CPUs on a 64-core node starts 2 workers.
 */
int par_cpus(void);

/*
 * Sets a gate on x (borrowed; before any loop runs): a loop asked for
 * while open(arg) returns 0 runs in its caller alone. arg is borrowed
 * and must outlive x.
 */
void par_gate(par_exec *x, int (*open)(void *arg), void *arg);

/* A seg_par backed by x (x may be NULL: serial). */
seg_par par_handle(par_exec *x);

#endif
