/*
 * Password checks off the event loop: a few worker threads run password_verify() (argon2id,
 * tens of milliseconds of CPU and 19 MiB each), at most max_jobs waiting or running at once.
 * The event loop submits a job, is woken through notify() (from a worker thread) when one
 * is done, and takes the finished jobs back, in any order.
 */
#ifndef SRVMON_SERVER_PWPOOL_H
#define SRVMON_SERVER_PWPOOL_H

#include <stddef.h>

/* Defaults of --password-workers: threads, and jobs queued or running. */
#define PWPOOL_THREADS	2
#define PWPOOL_MAX_JOBS 32
/* The workers' nice value: they yield the CPU to the event loop. */
#define PWPOOL_NICE 10

struct pwpool;
struct pwpool_job;

/* Called on a worker thread each time a job is done: must be thread-safe (lws_cancel_service). */
typedef void (*pwpool_notify_fn)(void *arg);

/* NULL + errno (EINVAL, ENOMEM, or pthread_create's error). */
struct pwpool *pwpool_new(unsigned threads, size_t max_jobs, pwpool_notify_fn notify,
			  void *notify_arg);
/* Stops the threads (each finishes its current check; no notify() after this returns).
 * Jobs stay until pwpool_free(), which stops the threads too and frees every job. */
void pwpool_stop(struct pwpool *p);
void pwpool_free(struct pwpool *p);

/*
 * Queues "does password match the encoded hash" for owner (the caller's context, handed back
 * with the result). 0 with *ret_job, -EBUSY when max_jobs are queued or running, -ENOMEM.
 * The password is copied and wiped once checked.
 */
int pwpool_submit(struct pwpool *p, const char *encoded, const char *password, void *owner,
		  struct pwpool_job **ret_job);
/* The owner is gone: the job's result is dropped (now if still queued, else when done). */
void pwpool_cancel(struct pwpool *p, struct pwpool_job *job);
/* A finished, not cancelled job, or NULL: its owner and password_verify()'s result; the job
 * is freed. */
struct pwpool_job *pwpool_take_done(struct pwpool *p);
void *pwpool_job_owner(const struct pwpool_job *job);
int pwpool_job_result(const struct pwpool_job *job);
void pwpool_job_free(struct pwpool_job *job);

#endif
