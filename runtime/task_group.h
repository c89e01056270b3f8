/* coreio task groups: asyncio.TaskGroup for C (structured concurrency).
 *
 * The task that creates a group is its parent; cio_task_group_wait() is
 * the end of asyncio's `async with TaskGroup() as g:` block:
 *
 *     cio_task_group *g;
 *     int rc = cio_task_group_new(&g);
 *     if (rc < 0)
 *         return rc;
 *     for (int i = 0; i < n; i++)
 *         if ((rc = cio_task_group_spawn(g, NULL, fetch, &urls[i], NULL)))
 *             break;
 *     if (rc < 0)
 *         cio_task_group_cancel(g);   // the body failed: stop the children
 *     int wrc = cio_task_group_wait(g);  // every child has ended now
 *     cio_task_group_free(g);
 *     return rc < 0 ? rc : wrc;
 *
 * Semantics (Python 3.13):
 * - The first child that fails (ends with an error; ending cancelled is
 *   not a failure) cancels every other child and the parent, so whatever
 *   the parent awaits between spawn and wait returns -ECANCELED. wait()
 *   withdraws that cancellation again: it does not leak past the group.
 * - wait() waits for every child, always. It returns 0; else the first
 *   child error; else -ECANCELED if the parent was cancelled by someone
 *   else (then every child is cancelled first and still waited for).
 *   Child errors take precedence over that -ECANCELED; the cancellation
 *   then stays requested and the parent's next await returns -ECANCELED.
 * - "Cancelled by someone else" is a request the parent has not withdrawn
 *   (cio_task_cancelling() above its value at cio_task_group_new(), not
 *   counting the group's own), whether it arrives during wait() or was
 *   seen by an await before it: C has no exception telling wait() how
 *   the body ended, and a body that handles a cancellation withdraws it
 *   with cio_task_uncancel().
 * - Once the group is shutting down (a child failed, the parent was
 *   cancelled, cio_task_group_cancel()) or has finished (wait() returned),
 *   spawn() refuses with -EINVAL, as asyncio raises RuntimeError. While
 *   wait() runs, children may still spawn siblings.
 * - The group reads every child's error, so none is reported as never
 *   retrieved; cio_task_group_errors() lists them.
 *
 * Ownership rules:
 * 1. cio_task_group_new() succeeded => call cio_task_group_free() once,
 *    normally after wait() returned.
 * 2. The group holds a reference on each child until the child has ended.
 *    spawn() with a non-NULL `out` gives you one more, released with
 *    cio_task_unref().
 * 3. Freeing a group whose children still run cancels them; the group's
 *    memory lives on until the last of them has ended. Their errors are no
 *    longer collected (the loop reports them as never retrieved unless you
 *    hold a reference and read them) and they no longer cancel the parent.
 * 4. wait() is called by the parent, once. spawn() and cancel() may be
 *    called by any task of the parent's loop. A group belongs to that loop
 *    and its thread.
 * 5. If the loop closes while children are pending, they are torn down
 *    with it (and reported); the group must still be freed.
 */
#ifndef CIO_RUNTIME_TASK_GROUP_H
#define CIO_RUNTIME_TASK_GROUP_H

#include "runtime/common.h"
#include "runtime/task.h"

CIO_BEGIN_DECLS

typedef struct cio_task_group cio_task_group;

/* New group whose parent is the current task. 0; -EINVAL (NULL out);
 * -EPERM outside a task; -ENOMEM. */
int cio_task_group_new(cio_task_group **out);

/* Spawn fn(arg) as a child (cio_spawn() options; opts->loop, if set, must
 * be the parent's loop). 0; -EINVAL (bad argument, group shutting down or
 * finished); -ENOMEM and cio_spawn()'s errors. On error no task was made
 * and *out (if out is not NULL) is NULL. */
int cio_task_group_spawn(cio_task_group *g, cio_task **out, cio_task_fn fn,
			 void *arg, const struct cio_task_opts *opts);

/* Shut the group down as when the body of `async with` raises: cancel
 * every running child and refuse further spawns. Does not wait and does
 * not cancel the parent. Returns how many children were asked to cancel;
 * -EINVAL for NULL. */
int cio_task_group_cancel(cio_task_group *g);

/* Wait for every child (see the semantics above). -EINVAL (NULL, waited
 * already); -EPERM when not called by the parent. */
int cio_task_group_wait(cio_task_group *g);

/* Children's errors in the order they failed: fills up to `cap` of them
 * and returns how many there are in all. -EINVAL for NULL g, or NULL errs
 * with a non-zero cap. */
int cio_task_group_errors(cio_task_group *g, int *errs, size_t cap);

/* See ownership rule 3. NULL is a no-op. */
void cio_task_group_free(cio_task_group *g);

CIO_END_DECLS

#endif
