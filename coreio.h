/* coreio: the one header users include. See README.md for a tour. */
#ifndef COREIO_H
#define COREIO_H

#include "runtime/common.h"
#include "runtime/loop.h"
#include "runtime/future.h"
#include "runtime/task.h"
#include "runtime/combinators.h"
#include "runtime/timeout.h"
#include "runtime/task_group.h"
#include "runtime/executor.h"
#include "runtime/chan.h"
#include "runtime/shard.h"
#include "runtime/signal.h"
#include "io/file.h"
#include "io/socket.h"
#include "io/dns.h"
#include "io/stream.h"
#include "io/server.h"
#include "io/http.h"
#include "io/http_server.h"
#include "io/http_static.h"
#include "io/http_client.h"
#include "io/url.h"
#include "sync/lock.h"
#include "sync/event.h"
#include "sync/cond.h"
#include "sync/sem.h"
#include "sync/barrier.h"
#include "sync/queue.h"

#endif
