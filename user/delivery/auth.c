#include "auth.h"

#include "config.h"
#include "log.h"
#include "monoclock.h"
#include "peertext.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define AUTH_MAX_RESPONSE ((size_t)64 * 1024)

struct auth {
	const struct config *cfg;
	char *url;
	struct auth_token token;
	bool valid;
	uint64_t obtained_ms; /* CLOCK_MONOTONIC */
	uint64_t requests;
	uint64_t renew_not_before_ms; /* a renewal failed: not retried before this */
	/* Credentials refused: one log line per AUTH_REJECT_LOG_WINDOW_MS. */
	bool rejecting;
	uint64_t reject_logged_ms;
	uint64_t rejects_unlogged;
	uint64_t rejects_total;
};

int auth_jwt_exp(const char *token, uint64_t *ret_exp)
{
	const char *p1 = strchr(token, '.');
	const char *p2 = p1 ? strchr(p1 + 1, '.') : NULL;
	unsigned char *raw = NULL;
	cJSON *claims = NULL;
	const cJSON *exp;
	char *b64 = NULL;
	size_t n, padded;
	int len;
	int r = -EINVAL;

	if (!p1 || !p2 || p2 == p1 + 1 || strchr(p2 + 1, '.'))
		return -EINVAL;
	n = (size_t)(p2 - p1 - 1);
	if (n > 8192)
		return -EINVAL;
	padded = (n + 3) / 4 * 4;
	b64 = malloc(padded + 1);
	raw = malloc(padded / 4 * 3 + 1);
	if (!b64 || !raw) {
		r = -ENOMEM;
		goto out;
	}
	/* base64url -> base64 with padding, for OpenSSL's decoder. */
	for (size_t i = 0; i < n; i++) {
		char c = p1[1 + i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		b64[i] = c;
	}
	for (size_t i = n; i < padded; i++)
		b64[i] = '=';
	b64[padded] = '\0';
	len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)padded);
	if (len < 0)
		goto out;
	raw[len] = '\0';
	claims = cJSON_ParseWithLength((const char *)raw, (size_t)len);
	exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
	if (!cJSON_IsNumber(exp) || exp->valuedouble < 0 || exp->valuedouble > 1e15)
		goto out;
	*ret_exp = (uint64_t)exp->valuedouble;
	r = 0;
out:
	cJSON_Delete(claims);
	free(b64);
	free(raw);
	return r;
}

int auth_parse_token_response(const char *body, struct auth_token *ret)
{
	const cJSON *access, *type, *expires, *refresh;
	cJSON *root;
	uint64_t exp;
	int r = -EBADMSG;

	root = cJSON_Parse(body);
	if (!cJSON_IsObject(root))
		goto out;
	access = cJSON_GetObjectItemCaseSensitive(root, "access_token");
	type = cJSON_GetObjectItemCaseSensitive(root, "token_type");
	expires = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
	if (!cJSON_IsString(access) || access->valuestring[0] == '\0')
		goto out;
	if (type && (!cJSON_IsString(type) || strcasecmp(type->valuestring, "bearer") != 0))
		goto out;
	if (strlen(access->valuestring) >= sizeof(ret->access_token)) {
		r = -E2BIG;
		goto out;
	}
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->access_token, access->valuestring, strlen(access->valuestring) + 1);
	/* An unusable refresh_token is not an error: the password grant still works. */
	refresh = cJSON_GetObjectItemCaseSensitive(root, "refresh_token");
	if (cJSON_IsString(refresh) && strlen(refresh->valuestring) < sizeof(ret->refresh_token))
		memcpy(ret->refresh_token, refresh->valuestring, strlen(refresh->valuestring) + 1);
	if (cJSON_IsNumber(expires) && expires->valuedouble > 0 && expires->valuedouble < 1e9) {
		ret->lifetime_ms = (uint64_t)llround(expires->valuedouble * 1000.0);
	} else if (auth_jwt_exp(ret->access_token, &exp) == 0) {
		uint64_t now = (uint64_t)time(NULL);

		ret->lifetime_ms = exp > now ? (exp - now) * 1000u : 1;
	}
	r = 0;
out:
	cJSON_Delete(root);
	return r;
}

struct auth *auth_new(const struct config *cfg)
{
	struct auth *a;
	size_t len;

	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->cfg = cfg;
	len = strlen(cfg->base_url) + strlen(cfg->server.token_path) + 1;
	a->url = malloc(len);
	if (!a->url) {
		free(a);
		errno = ENOMEM;
		return NULL;
	}
	(void)snprintf(a->url, len, "%s%s", cfg->base_url, cfg->server.token_path);
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	explicit_bzero(&a->token, sizeof(a->token));
	free(a->url);
	free(a);
}

struct body_buf {
	char *data;
	size_t len;
	bool overflow;
};

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body_buf *b = userdata;
	size_t n = size * nmemb;

	if (b->len + n > AUTH_MAX_RESPONSE) {
		b->overflow = true;
		return 0; /* aborts the transfer */
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* The form of the password grant, or of the refresh grant when refresh is non-NULL. */
static char *auth_form_body(CURL *curl, const struct config *cfg, const char *refresh)
{
	char *user = NULL;
	char *pass = NULL;
	char *form = NULL;
	size_t len;

	if (refresh) {
		pass = curl_easy_escape(curl, refresh, 0);
		if (!pass)
			goto out;
		len = strlen("grant_type=refresh_token&refresh_token=") + strlen(pass) + 1;
		form = malloc(len);
		if (form)
			(void)snprintf(form, len, "grant_type=refresh_token&refresh_token=%s",
				       pass);
		goto out;
	}
	user = curl_easy_escape(curl, cfg->server.client_id, 0);
	pass = curl_easy_escape(curl, cfg->server.password, 0);
	if (!user || !pass)
		goto out;
	len = strlen("grant_type=password&username=&password=") + strlen(user) + strlen(pass) + 1;
	form = malloc(len);
	if (form)
		(void)snprintf(form, len, "grant_type=password&username=%s&password=%s", user,
			       pass);
out:
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		curl_free(pass);
	}
	curl_free(user);
	return form;
}

/* Credentials refused: the first refusal, then one line per window with the count. */
static void auth_log_rejected(struct auth *a, long status, const char *error)
{
	uint64_t now = mono_ms();

	a->rejects_total++;
	if (a->rejecting && now - a->reject_logged_ms < AUTH_REJECT_LOG_WINDOW_MS) {
		a->rejects_unlogged++;
		return;
	}
	if (!a->rejecting)
		log_err("token request to %s rejected for client_id '%s': HTTP %ld%s%s; "
			"retrying with back-off, next report in %ds",
			a->url, a->cfg->server.client_id, status, error ? " " : "",
			error ? error : "", AUTH_REJECT_LOG_WINDOW_MS / 1000);
	else
		log_err("token request to %s still rejected for client_id '%s': HTTP %ld%s%s "
			"(%llu refused attempts in the last %llus)",
			a->url, a->cfg->server.client_id, status, error ? " " : "",
			error ? error : "", (unsigned long long)a->rejects_unlogged + 1,
			(unsigned long long)((now - a->reject_logged_ms) / 1000));
	a->rejecting = true;
	a->reject_logged_ms = now;
	a->rejects_unlogged = 0;
}

/* One token request with the given grant. refresh: NULL for the password grant. */
static int auth_request(struct auth *a, const char *refresh)
{
	const struct config *cfg = a->cfg;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct body_buf body = {0};
	struct auth_token tok;
	char *form = NULL;
	CURL *curl = NULL;
	CURLcode rc;
	long status = 0;
	int r;

	a->requests++;
	body.data = malloc(AUTH_MAX_RESPONSE + 1);
	curl = curl_easy_init();
	if (!body.data || !curl) {
		r = -ENOMEM;
		goto out;
	}
	body.data[0] = '\0';
	form = auth_form_body(curl, cfg, refresh);
	if (!form) {
		r = -ENOMEM;
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, a->url);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->server.connect_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)cfg->server.connect_timeout_ms * 2);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	if (cfg->server.ca_file && *cfg->server.ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->server.ca_file);
	if (cfg->server.pin_sha256 && *cfg->server.pin_sha256) {
		char pin[128];

		(void)snprintf(pin, sizeof(pin), "sha256//%s",
			       strncmp(cfg->server.pin_sha256, "sha256//", 8) == 0
				       ? cfg->server.pin_sha256 + 8
				       : cfg->server.pin_sha256);
		curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, pin);
	}

	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		log_err("token request to %s failed: %s", a->url,
			errbuf[0] ? errbuf : curl_easy_strerror(rc));
		if (rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
			log_err("the certificate of %s does not match server.pin_sha256", a->url);
		r = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 400 || status == 401 || status == 403) {
		cJSON *err = cJSON_Parse(body.data);
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(err, "error");
		char text[256]; /* the server's words, escaped: it cannot forge log lines */
		const char *why = NULL;

		if (cJSON_IsString(e)) {
			peertext_escape(e->valuestring, strlen(e->valuestring), text, sizeof(text));
			why = text;
		}

		if (refresh)
			log_info("refresh token refused by %s (HTTP %ld%s%s); using the password "
				 "grant",
				 a->url, status, why ? " " : "", why ? why : "");
		else
			auth_log_rejected(a, status, why);
		cJSON_Delete(err);
		r = -EACCES;
		goto out;
	}
	if (status != 200) {
		log_err("token request to %s failed: HTTP %ld", a->url, status);
		r = -EPROTO;
		goto out;
	}
	r = auth_parse_token_response(body.data, &tok);
	if (r < 0) {
		log_err("token response from %s is not a bearer token response", a->url);
		r = -EPROTO;
		goto out;
	}
	a->token = tok;
	explicit_bzero(&tok, sizeof(tok));
	a->valid = true;
	a->obtained_ms = mono_ms();
	if (a->rejecting)
		log_info("credentials accepted by %s again after %llu refused attempts", a->url,
			 (unsigned long long)a->rejects_total);
	a->rejecting = false;
	a->rejects_total = 0;
	log_info("token obtained from %s with the %s grant (lifetime %llus%s)", a->url,
		 refresh ? "refresh" : "password",
		 (unsigned long long)(a->token.lifetime_ms / 1000),
		 a->token.refresh_token[0] ? ", refresh token offered" : "");
out:
	if (form) {
		explicit_bzero(form, strlen(form));
		free(form);
	}
	if (body.data) {
		explicit_bzero(body.data, body.len);
		free(body.data);
	}
	curl_easy_cleanup(curl);
	return r;
}

/* A new token: the refresh grant when one was offered, else (or when refused) the password
 * grant. On failure the old token (if any) is kept until it expires or is rejected. */
static int auth_fetch(struct auth *a)
{
	char refresh[sizeof(a->token.refresh_token)];
	int r;

	memcpy(refresh, a->token.refresh_token, sizeof(refresh));
	if (refresh[0]) {
		r = auth_request(a, refresh);
		if (r != -EACCES)
			goto out;
		/* Refused (expired, revoked, already used): it is of no further use. */
		explicit_bzero(a->token.refresh_token, sizeof(a->token.refresh_token));
	}
	r = auth_request(a, NULL);
out:
	explicit_bzero(refresh, sizeof(refresh));
	if (r < 0)
		a->renew_not_before_ms = mono_ms() + AUTH_RENEW_RETRY_MS;
	return r;
}

static bool auth_needs_renewal(const struct auth *a)
{
	uint64_t margin;

	if (!a->valid)
		return true;
	if (a->token.lifetime_ms == 0)
		return false;
	margin = a->token.lifetime_ms / 10;
	if (margin < 5000)
		margin = 5000;
	if (margin >= a->token.lifetime_ms)
		margin = a->token.lifetime_ms / 2;
	return mono_ms() + margin >= a->obtained_ms + a->token.lifetime_ms;
}

int auth_get_token(struct auth *a, const char **ret_token)
{
	int r;

	if (auth_needs_renewal(a)) {
		r = auth_fetch(a);
		if (r < 0) {
			/* Only a token that has not expired yet is still worth offering. */
			if (!a->valid || (a->token.lifetime_ms != 0 &&
					  mono_ms() >= a->obtained_ms + a->token.lifetime_ms))
				return r;
		}
	}
	*ret_token = a->token.access_token;
	return 0;
}

bool auth_renewal_due(const struct auth *a)
{
	return a->valid && auth_needs_renewal(a) && mono_ms() >= a->renew_not_before_ms;
}

void auth_invalidate(struct auth *a)
{
	a->valid = false;
	/* The refresh token stays: it is how the next token is obtained. */
	explicit_bzero(a->token.access_token, sizeof(a->token.access_token));
}

uint64_t auth_requests(const struct auth *a)
{
	return a->requests;
}
