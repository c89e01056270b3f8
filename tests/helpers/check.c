#include "helpers/check.h"

#include <pthread.h>
#include <stdio.h>

#include "helpers/harness.h"

static char failed[256];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void th_check_fail(int line, const char *what)
{
	pthread_mutex_lock(&lock);
	if (!failed[0])
		snprintf(failed, sizeof(failed), "line %d: %s", line, what);
	pthread_mutex_unlock(&lock);
}

void th_check_reset(void)
{
	pthread_mutex_lock(&lock);
	failed[0] = 0;
	pthread_mutex_unlock(&lock);
}

void th_check_assert(void)
{
	pthread_mutex_lock(&lock);
	char copy[sizeof(failed)];
	snprintf(copy, sizeof(copy), "%s", failed);
	pthread_mutex_unlock(&lock);
	cr_assert(!copy[0], "%s", copy);
}
