#include "pwpool.h"

#include "password.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

enum job_state {
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_DONE,
};

struct pwpool_job {
	struct pwpool_job *next;
	enum job_state state;
	bool cancelled;
	void *owner;
	int result;
	char encoded[PASSWORD_ENCODED_MAX];
	char password[PASSWORD_MAX_LEN + 1];
};

struct pwpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	size_t n_jobs; /* queued + running + done not taken */
	size_t max_jobs;
	struct pwpool_job *queue; /* FIFO: head */
	struct pwpool_job **queue_tail;
	struct pwpool_job *done;
	pwpool_notify_fn notify;
	void *notify_arg;
	unsigned n_threads;
	pthread_t *threads;
};

void pwpool_job_free(struct pwpool_job *job)
{
	if (!job)
		return;
	OPENSSL_cleanse(job->password, sizeof(job->password));
	free(job);
}

static void *worker(void *arg)
{
	struct pwpool *p = arg;

	/* Below the event loop: on a busy machine a login storm takes the CPU the loop leaves,
	 * not the loop's (Linux: the nice value is per thread). Best effort. */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), PWPOOL_NICE);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct pwpool_job *job;

		while (!p->stop && !p->queue)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop)
			break;
		job = p->queue;
		p->queue = job->next;
		if (!p->queue)
			p->queue_tail = &p->queue;
		job->next = NULL;
		job->state = JOB_RUNNING;
		pthread_mutex_unlock(&p->lock);

		job->result = password_verify(job->encoded, job->password);
		OPENSSL_cleanse(job->password, sizeof(job->password));

		pthread_mutex_lock(&p->lock);
		job->state = JOB_DONE;
		job->next = p->done;
		p->done = job;
		pthread_mutex_unlock(&p->lock);
		p->notify(p->notify_arg);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct pwpool *pwpool_new(unsigned threads, size_t max_jobs, pwpool_notify_fn notify,
			  void *notify_arg)
{
	struct pwpool *p;
	int r;

	if (threads == 0 || threads > 64 || max_jobs < threads || !notify) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->threads = calloc(threads, sizeof(*p->threads));
	if (!p->threads) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->queue_tail = &p->queue;
	p->max_jobs = max_jobs;
	p->notify = notify;
	p->notify_arg = notify_arg;
	for (unsigned i = 0; i < threads; i++) {
		r = pthread_create(&p->threads[i], NULL, worker, p);
		if (r != 0) {
			pwpool_free(p);
			errno = r;
			return NULL;
		}
		p->n_threads++;
	}
	return p;
}

static void free_list(struct pwpool_job *job)
{
	while (job) {
		struct pwpool_job *next = job->next;

		pwpool_job_free(job);
		job = next;
	}
}

void pwpool_stop(struct pwpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	p->n_threads = 0;
}

void pwpool_free(struct pwpool *p)
{
	if (!p)
		return;
	pwpool_stop(p);
	/* Running jobs finished into done before their thread stopped. */
	free_list(p->queue);
	free_list(p->done);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

int pwpool_submit(struct pwpool *p, const char *encoded, const char *password, void *owner,
		  struct pwpool_job **ret_job)
{
	size_t elen = strlen(encoded);
	size_t plen = strnlen(password, PASSWORD_MAX_LEN);
	struct pwpool_job *job;

	if (elen >= sizeof(job->encoded))
		return -EINVAL;
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	memcpy(job->encoded, encoded, elen + 1);
	memcpy(job->password, password, plen);
	job->owner = owner;
	pthread_mutex_lock(&p->lock);
	if (p->n_jobs >= p->max_jobs) {
		pthread_mutex_unlock(&p->lock);
		pwpool_job_free(job);
		return -EBUSY;
	}
	p->n_jobs++;
	*p->queue_tail = job;
	p->queue_tail = &job->next;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	*ret_job = job;
	return 0;
}

/* Unlinks job from the list at *head (under the lock). */
static bool unlink_job(struct pwpool_job **head, struct pwpool_job *job)
{
	for (; *head; head = &(*head)->next) {
		if (*head == job) {
			*head = job->next;
			job->next = NULL;
			return true;
		}
	}
	return false;
}

void pwpool_cancel(struct pwpool *p, struct pwpool_job *job)
{
	bool free_now = false;

	if (!job)
		return;
	pthread_mutex_lock(&p->lock);
	if (job->state == JOB_QUEUED) {
		free_now = unlink_job(&p->queue, job);
		p->queue_tail = &p->queue;
		while (*p->queue_tail)
			p->queue_tail = &(*p->queue_tail)->next;
	} else if (job->state == JOB_DONE) {
		free_now = unlink_job(&p->done, job);
	}
	if (free_now)
		p->n_jobs--;
	else
		job->cancelled = true; /* running: dropped by pwpool_take_done */
	pthread_mutex_unlock(&p->lock);
	if (free_now)
		pwpool_job_free(job);
}

struct pwpool_job *pwpool_take_done(struct pwpool *p)
{
	struct pwpool_job *job;

	pthread_mutex_lock(&p->lock);
	while ((job = p->done)) {
		p->done = job->next;
		job->next = NULL;
		p->n_jobs--;
		if (!job->cancelled)
			break;
		pwpool_job_free(job);
	}
	pthread_mutex_unlock(&p->lock);
	return job;
}

void *pwpool_job_owner(const struct pwpool_job *job)
{
	return job->owner;
}

int pwpool_job_result(const struct pwpool_job *job)
{
	return job->result;
}
