#include "alert_email.h"

#include "notifyq.h"
#include "sbuf.h"
#include "sendmail.h"

#include <errno.h>
#include <openssl/evp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SUBJECT_CHUNK 45 /* bytes per RFC 2047 encoded-word: 60 base64 characters */

struct alert_email {
	struct notifyq *q;
	char *sendmail;
	char domain[256];
};

bool alert_email_address_ok(const char *addr)
{
	const char *at = strchr(addr, '@');
	size_t n = strlen(addr);

	if (n < 3 || n > ALERT_EMAIL_MAX || !at || at == addr || !at[1] || strchr(at + 1, '@'))
		return false;
	/* A leading '-' could read as an option to a program given the address. */
	if (addr[0] == '-' || at[1] == '.' || addr[n - 1] == '.')
		return false;
	for (const char *p = addr; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>[\\]", c))
			return false;
	}
	return true;
}

/* s with control characters (CR and LF among them) as spaces. */
static int add_text(struct sbuf *out, const char *s)
{
	size_t start = out->len;
	int r = sbuf_adds(out, s);

	for (size_t i = start; r == 0 && i < out->len; i++) {
		if ((unsigned char)out->s[i] < 0x20 || out->s[i] == 0x7f)
			out->s[i] = ' ';
	}
	return r;
}

static bool ascii(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
	}
	return true;
}

/* The length of the first at most max bytes of s that ends on a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n = len < max ? len : max;

	while (n > 0 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n ? n : (len < max ? len : max);
}

/* "Subject: text" with text (already without control characters) as RFC 2047 encoded-words
 * on folded lines when it is not ASCII. */
static int add_subject(struct sbuf *out, const char *text)
{
	size_t len = strlen(text);
	int r = sbuf_adds(out, "Subject: ");

	if (r == 0 && ascii(text))
		return sbuf_adds(out, text);
	for (size_t off = 0; r == 0 && off < len;) {
		size_t n = utf8_cut(text + off, len - off, SUBJECT_CHUNK);

		if (off)
			r = sbuf_adds(out, "\n ");
		if (r == 0)
			r = sbuf_adds(out, "=?UTF-8?B?");
		if (r == 0) {
			unsigned char b64[(SUBJECT_CHUNK + 2) / 3 * 4 + 1];

			(void)EVP_EncodeBlock(b64, (const unsigned char *)text + off, (int)n);
			r = sbuf_adds(out, (const char *)b64);
		}
		if (r == 0)
			r = sbuf_adds(out, "?=");
		off += n;
	}
	return r;
}

/* RFC 5322 date-time of ms (UTC), in ret. */
static void rfc5322_date(int64_t ms, char *ret, size_t size)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		(void)snprintf(ret, size, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	(void)snprintf(ret, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
		       tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		       tm.tm_sec);
}

/* "2026-12-07 23:40:00 UTC" */
static void utc_time(int64_t ms, char *ret, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(ret, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		(void)snprintf(ret, size, "%" PRId64 " ms", ms);
}

/* One "Name:  value\n" line of the body. */
static int add_line(struct sbuf *out, const char *name, const char *value)
{
	int r = sbuf_adds(out, name);

	if (r == 0)
		r = add_text(out, value);
	if (r == 0)
		r = sbuf_addc(out, '\n');
	return r;
}

int alert_email_compose(const struct alert_email_msg *m, struct sbuf *out)
{
	const char *host = m->hostname[0] ? m->hostname : m->host_id;
	char subject[512], line[640], date[64], value[40];
	struct sbuf subj = {0};
	int r;

	if (!alert_email_address_ok(m->to))
		return -EINVAL;
	(void)snprintf(subject, sizeof(subject), "[srvmon] %s %s on %s", m->rule_name, m->state,
		       host);
	rfc5322_date(m->at_ms, date, sizeof(date));
	(void)snprintf(value, sizeof(value), "%.15g", m->value);
	(void)snprintf(line, sizeof(line), "<srvmon.%" PRId64 ".%" PRId64 ".%" PRIu64 "@", m->at_ms,
		       m->rule_id, m->unique);
	r = add_text(&subj, subject);
	if (r == 0)
		r = sbuf_adds(out, "From: srvmon <srvmon@");
	if (r == 0)
		r = add_text(out, m->domain);
	if (r == 0)
		r = sbuf_adds(out, ">\nTo: ");
	if (r == 0)
		r = add_line(out, "", m->to);
	if (r == 0)
		r = add_subject(out, subj.s);
	if (r == 0)
		r = add_line(out, "\nDate: ", date);
	if (r == 0)
		r = sbuf_adds(out, "Message-ID: ");
	if (r == 0)
		r = sbuf_adds(out, line);
	if (r == 0)
		r = add_text(out, m->domain);
	if (r == 0)
		r = sbuf_adds(out, ">\nMIME-Version: 1.0\n"
				   "Content-Type: text/plain; charset=utf-8\n"
				   "Content-Transfer-Encoding: 8bit\n"
				   "Auto-Submitted: auto-generated\n\n");
	/* The body. */
	if (r == 0)
		r = add_line(out, "", subj.s + strlen("[srvmon] "));
	if (r == 0)
		r = sbuf_addc(out, '\n');
	if (r == 0)
		r = add_line(out, "State:   ", m->state);
	if (r == 0) {
		(void)snprintf(line, sizeof(line), "%.128s (rule %" PRId64 "): %.400s",
			       m->rule_name, m->rule_id, m->rule_text);
		r = add_line(out, "Rule:    ", line);
	}
	if (r == 0) {
		(void)snprintf(line, sizeof(line), "%.255s (host_id %.255s)",
			       m->hostname[0] ? m->hostname : "?", m->host_id);
		r = add_line(out, "Host:    ", line);
	}
	if (r == 0)
		r = add_line(out, "Value:   ", value);
	if (r == 0 && m->have_since) {
		utc_time(m->since_ms, line, sizeof(line));
		r = add_line(out, "Since:   ", line);
	}
	if (r == 0) {
		utc_time(m->at_ms, line, sizeof(line));
		r = add_line(out, "At:      ", line);
	}
	if (r == 0)
		r = add_line(out, "\n-- \nsrvmon-server on ", m->domain);
	sbuf_free(&subj);
	return r;
}

static bool stopping(void *ctx)
{
	return notifyq_stopping(ctx);
}

static int run_sendmail(struct notifyq *q, void *ctx, const char *to, const char *msg, size_t len,
			char *err)
{
	struct alert_email *ae = ctx;

	(void)to; /* -t: the recipients are the message's */
	return sendmail_run(ae->sendmail, msg, len, SENDMAIL_TIMEOUT_MS, stopping, q, err,
			    NOTIFYQ_ERR_MAX);
}

/* The hostname as a domain: letters, digits, '.' and '-' only. */
static void local_domain(char *ret, size_t size)
{
	if (gethostname(ret, size) < 0 || !ret[0])
		(void)snprintf(ret, size, "localhost");
	ret[size - 1] = '\0';
	for (char *p = ret; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			*p = '-';
	}
}

struct alert_email *alert_email_new(const char *sendmail_path)
{
	struct alert_email *ae = calloc(1, sizeof(*ae));
	int e = ENOMEM;

	if (!ae)
		goto fail;
	local_domain(ae->domain, sizeof(ae->domain));
	ae->sendmail = strdup(sendmail_path);
	if (!ae->sendmail)
		goto fail;
	ae->q = notifyq_new("email", run_sendmail, ae);
	if (!ae->q) {
		e = errno;
		goto fail;
	}
	return ae;
fail:
	if (ae)
		free(ae->sendmail);
	free(ae);
	errno = e;
	return NULL;
}

const char *alert_email_domain(const struct alert_email *ae)
{
	return ae->domain;
}

int alert_email_send(struct alert_email *ae, const char *to, const char *msg, size_t len)
{
	return notifyq_push(ae->q, to, msg, len);
}

void alert_email_free(struct alert_email *ae)
{
	if (!ae)
		return;
	notifyq_free(ae->q);
	free(ae->sendmail);
	free(ae);
}
