/* Internal: shards, their rings and messages. */
#ifndef CIO_RUNTIME_SHARD_INTERNAL_H
#define CIO_RUNTIME_SHARD_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "io/waitq.h"
#include "runtime/future_internal.h"
#include "runtime/loop_internal.h"
#include "runtime/shard.h"

/* A request, then (same record, sent back) its reply. Allocated and
 * recycled by the origin shard only; the future the caller awaits is
 * embedded, so a message allocates nothing once the free list is warm.
 * References to `fut`: the caller's (if it asked for the future) and one
 * for the trip, dropped by the origin when the reply is in. The record
 * goes back to the free list when both are gone. */
struct cio__smsg {
	cio_future fut;         /* origin's thread only */
	struct cio__smsg *next; /* free list, overflow list */
	cio_task_fn fn;
	void *arg;
	/* Target's thread while the request is there. */
	cio_task *task;
	struct cio__fut_cb done;
	/* The outcome, as a future state (RESULT, ERROR, CANCELLED). */
	uint8_t state;
	intptr_t value;
	uint16_t origin, target;
	bool reply;
};

/* Single producer (shard `from`), single consumer (shard `to`). Indices
 * run freely and wrap; slot = index & mask. */
struct cio__spsc {
	_Alignas(64) _Atomic unsigned tail; /* producer */
	unsigned head_cache;                /* producer's last view of head */
	_Alignas(64) _Atomic unsigned head; /* consumer */
	/* The producer waits for room: the consumer, having made room, posts
	 * `space` to the producer's loop (exchange to 0 => one post). */
	_Alignas(64) atomic_int want_space;
	struct cio__work space;
	unsigned from, to, mask;
	struct cio__smsg **slot;
};

/* What a shard keeps for one destination (its own thread only). */
struct cio__outq {
	struct cio__smsg *head, **tailp; /* replies waiting for room */
	struct cio__waitq senders;       /* tasks waiting for room */
	bool space_armed;                /* want_space set, post not seen */
};

struct cio__rt;

struct cio__shard {
	struct cio__rt *rt;
	unsigned id;
	int cpu; /* -1: not pinned */
	pthread_t thread;
	cio_loop *loop;
	int start_err;

	/* Set by senders (first one posts `bell`), cleared by the target
	 * before it drains its rings. */
	_Alignas(64) atomic_int doorbell;
	struct cio__work bell;
	struct cio__work stop, quiet, graceful;

	/* Own thread only. */
	bool stopping; /* refuse new requests */
	struct cio__outq *out; /* [rt->n] */
	struct cio__smsg *free_msgs;
};

struct cio__rt {
	unsigned n;
	struct cio__shard *shards;
	struct cio__spsc *rings; /* [from * n + to] */
	atomic_int quiet;        /* shards whose tasks are all done */
	atomic_int drained;      /* shards done with a graceful shutdown */
	int64_t grace_deadline;  /* written before `graceful` is posted */
	atomic_bool shutting_down;
	cio_task_fn main;
	void *main_arg;
	intptr_t main_result;
	const struct cio_loop_opts *loop_opts;
};

extern struct cio__rt *_Atomic cio__rt_current;
extern __thread struct cio__shard *cio__tls_shard CIO__TLS_IE;

static inline struct cio__spsc *cio__ring(struct cio__rt *rt, unsigned from,
					  unsigned to)
{
	return &rt->rings[(size_t)from * rt->n + to];
}

/* io/server.c: a shard's part of a graceful shutdown. */
int cio__servers_stop(cio_loop *loop, int64_t deadline);

/* shard_msg.c */
int cio__rings_new(struct cio__rt *rt, unsigned slots);
/* After every thread is joined: free what is left in rings, overflow and
 * free lists, and drop the futures those messages held. */
void cio__rings_free(struct cio__rt *rt);
void cio__shard_msg_init(struct cio__shard *sh);
/* Tell every shard to stop (from any thread; once). */
void cio__rt_begin_shutdown(struct cio__rt *rt);

#endif
