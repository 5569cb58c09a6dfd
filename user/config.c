/* Agent configuration: one key table drives defaults, parsing, printing and the docs. */
#include "config.h"

#include "config_keys.h"
#include "log.h"
#include "numparse.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a)	   (sizeof(a) / sizeof((a)[0]))
#define PASSWORD_FILE_MAX  4096
#define SECTION_FLAT_ALIAS "server" /* keys before any [section] belong here */
#define ERRMSG_MAX	   512
#define ERR_LINE_NAMED	   (-1) /* the error message names its own file */

/* ---- small pure helpers ---- */

static int key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < config_key_count; i++) {
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

static const char *key_find_other_section(const char *name)
{
	for (size_t i = 0; i < config_key_count; i++) {
		if (strcmp(config_keys[i].name, name) == 0)
			return config_keys[i].section;
	}
	return NULL;
}

static bool section_known(const char *name, size_t len)
{
	for (size_t i = 0; i < config_key_count; i++) {
		if (strlen(config_keys[i].section) == len &&
		    strncmp(config_keys[i].section, name, len) == 0)
			return true;
	}
	return false;
}

/* "[server], [agent], ... or [metrics]": every section of the table, in its order. */
static void section_names(char *buf, size_t len)
{
	const char *prev = NULL;
	size_t off = 0, n_sections = 0, k = 0;

	for (size_t i = 0; i < config_key_count; i++) {
		if (!prev || strcmp(prev, config_keys[i].section) != 0)
			n_sections++;
		prev = config_keys[i].section;
	}
	buf[0] = '\0';
	prev = NULL;
	for (size_t i = 0; i < config_key_count && off < len; i++) {
		const char *sep;
		int n;

		if (prev && strcmp(prev, config_keys[i].section) == 0)
			continue;
		prev = config_keys[i].section;
		k++;
		sep = k == 1 ? "" : k == n_sections ? " or " : ", ";
		n = snprintf(buf + off, len - off, "%s[%s]", sep, prev);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static bool mode_exposes_secret(mode_t mode)
{
	return (mode & (S_IRGRP | S_IROTH)) != 0;
}

/* ---- loading ---- */

struct load_ctx {
	struct config *cfg;
	const char *path;
	FILE *f;
	int line;	    /* line the last chunk read belongs to */
	bool at_line_start; /* the next chunk starts a new line */
	bool continuation;  /* current line continues the previous key (inih multi-line) */
	bool have_prev_key; /* mirrors inih: a key was seen since the last section header */
	int set_line[CONFIG_KEYS_MAX]; /* line a key was set on, 0: not in the file */
	int err;		       /* first error, negative errno */
	int err_line;		       /* its line, 0: about the whole file, or ERR_LINE_NAMED */
	char err_msg[ERRMSG_MAX];
};

__attribute__((format(printf, 4, 5))) static void ctx_fail(struct load_ctx *ctx, int line, int err,
							   const char *fmt, ...)
{
	va_list ap;

	if (ctx->err)
		return;
	ctx->err = err;
	ctx->err_line = line;
	va_start(ap, fmt);
	(void)vsnprintf(ctx->err_msg, sizeof(ctx->err_msg), fmt, ap);
	va_end(ap);
}

/* Like inih: position of the first char of chars, or of an inline comment (" ;"). */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;

	for (; *s; s++) {
		if (strchr(chars, *s) || (was_space && *s == ';'))
			return s;
		was_space = isspace((unsigned char)*s);
	}
	return s;
}

/*
 * Classifies a new raw line the way inih will, so that section headers (which inih does
 * not report), syntax errors and continuation lines get a precise message.
 */
static void classify_line(struct load_ctx *ctx, const char *raw)
{
	const char *s = raw;
	const char *end;
	bool indented;

	ctx->continuation = false;
	if (ctx->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	indented = *s != '\0' && isspace((unsigned char)*s);
	while (*s && isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == ';' || *s == '#')
		return;
	if (indented && ctx->have_prev_key) {
		ctx->continuation = true;
		return;
	}
	if (*s == '[') {
		end = find_chars_or_comment(s + 1, "]");
		if (*end != ']') {
			ctx_fail(ctx, ctx->line, -EINVAL,
				 "syntax error: section header lacks the closing ]");
			return;
		}
		ctx->have_prev_key = false;
		if (!section_known(s + 1, (size_t)(end - s - 1))) {
			char names[256];

			section_names(names, sizeof(names));
			ctx_fail(ctx, ctx->line, -EINVAL, "[%.*s]: unknown section (use %s)",
				 (int)(end - s - 1), s + 1, names);
		}
		return;
	}
	end = find_chars_or_comment(s, "=:");
	if (*end != '=' && *end != ':')
		ctx_fail(ctx, ctx->line, -EINVAL,
			 "syntax error: expected \"key = value\" or \"[section]\"");
}

/* ini_reader: fgets that counts lines (inih's own count is not passed to handlers). */
static char *ctx_read(char *str, int num, void *stream)
{
	struct load_ctx *ctx = stream;
	bool new_line = ctx->at_line_start;
	size_t n;

	if (!fgets(str, num, ctx->f))
		return NULL;
	n = strlen(str);
	ctx->at_line_start = n > 0 && str[n - 1] == '\n';
	if (!new_line)
		return str;
	ctx->line++;
	if (!ctx->at_line_start && !feof(ctx->f))
		ctx_fail(ctx, ctx->line, -EINVAL, "line longer than %d characters", num - 2);
	classify_line(ctx, str);
	return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	const char *sec = section[0] ? section : SECTION_FLAT_ALIAS;
	char problem[ERRMSG_MAX - 64];
	const char *other;
	int idx, r;

	if (ctx->continuation) {
		ctx_fail(ctx, ctx->line, -EINVAL,
			 "%s.%s: indented line continues this key's value; multi-line values are "
			 "not supported (remove the indentation)",
			 sec, name);
		return 0;
	}
	ctx->have_prev_key = true;
	if (ctx->err)
		return 1; /* only the first error is reported */
	if (!section_known(sec, strlen(sec)))
		return 0; /* reported at the section header */

	idx = key_find(sec, name);
	if (idx < 0) {
		other = key_find_other_section(name);
		if (!section[0] && other)
			ctx_fail(ctx, ctx->line, -EINVAL,
				 "%s: only [server] keys may precede the first section header (put "
				 "it under [%s])",
				 name, other);
		else if (other)
			ctx_fail(ctx, ctx->line, -EINVAL,
				 "%s.%s: unknown key (it belongs under [%s])", sec, name, other);
		else
			ctx_fail(ctx, ctx->line, -EINVAL,
				 "%s.%s: unknown key (see docs/configuration.md)", sec, name);
		return 0;
	}
	if (ctx->set_line[idx]) {
		ctx_fail(ctx, ctx->line, -EINVAL, "%s.%s: duplicate key (first set on line %d)",
			 sec, name, ctx->set_line[idx]);
		return 0;
	}
	ctx->set_line[idx] = ctx->line;
	problem[0] = '\0';
	r = config_key_set(&config_keys[idx], ctx->cfg, value, problem, sizeof(problem));
	if (r == -ENOMEM) {
		ctx_fail(ctx, ctx->line, r, "%s.%s: out of memory", sec, name);
		return 0;
	}
	if (r < 0) {
		ctx_fail(ctx, ctx->line, r, "%s.%s: %s", sec, name, problem);
		return 0;
	}
	return 1;
}

static int key_line(const struct load_ctx *ctx, const char *section, const char *name)
{
	int idx = key_find(section, name);

	return idx < 0 ? 0 : ctx->set_line[idx];
}

/* Reads the password file into cfg->server.password. */
static int read_password_file(struct load_ctx *ctx)
{
	const char *pw_path = ctx->cfg->server.password_file;
	int line = key_line(ctx, "server", "password_file");
	char buf[PASSWORD_FILE_MAX + 1];
	size_t len = 0;
	struct stat st;
	int fd, r = 0;

	fd = open(pw_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		ctx_fail(ctx, line, r, "server.password_file: cannot open \"%s\": %s", pw_path,
			 strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		ctx_fail(ctx, line, r, "server.password_file: cannot stat \"%s\": %s", pw_path,
			 strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		ctx_fail(ctx, line, r, "server.password_file: \"%s\" is not a regular file",
			 pw_path);
		goto out;
	}
	if (mode_exposes_secret(st.st_mode)) {
		r = -EACCES;
		ctx_fail(ctx, ERR_LINE_NAMED, r,
			 "%s: contains a password but is readable by group/others (mode %04o); "
			 "run: chmod 600 %s",
			 pw_path, (unsigned)(st.st_mode & 07777), pw_path);
		goto out;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			ctx_fail(ctx, line, r, "server.password_file: cannot read \"%s\": %s",
				 pw_path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > PASSWORD_FILE_MAX) {
		r = -EFBIG;
		ctx_fail(ctx, line, r, "server.password_file: \"%s\" is larger than %d bytes",
			 pw_path, PASSWORD_FILE_MAX);
		goto out;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len == 0 || memchr(buf, '\0', len)) {
		r = -EINVAL;
		ctx_fail(ctx, line, r, "server.password_file: \"%s\" %s", pw_path,
			 len == 0 ? "is empty" : "contains a NUL byte");
		goto out;
	}
	free(ctx->cfg->server.password);
	ctx->cfg->server.password = strndup(buf, len);
	if (!ctx->cfg->server.password) {
		r = -ENOMEM;
		ctx_fail(ctx, line, r, "server.password_file: out of memory");
	}
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return r;
}

/* Checks that need the whole file: conflicts, secrets, required keys; derives base_url. */
static int finish_load(struct load_ctx *ctx, const struct stat *st, bool require_server)
{
	static const char *const url_excludes[] = {"server_address", "server_port", "tls"};
	struct config_server *srv = &ctx->cfg->server;
	int url_line = key_line(ctx, "server", "url");
	const char *why;
	int r;

	for (size_t i = 0; srv->url && i < ARRAY_SIZE(url_excludes); i++) {
		int line = key_line(ctx, "server", url_excludes[i]);

		if (line) {
			ctx_fail(ctx, line, -EINVAL,
				 "server.%s: cannot be combined with server.url (line %d) (remove "
				 "one of them)",
				 url_excludes[i], url_line);
			return ctx->err;
		}
	}
	if (srv->password && srv->password_file) {
		ctx_fail(ctx, key_line(ctx, "server", "password_file"), -EINVAL,
			 "server.password_file: cannot be combined with server.password (line %d) "
			 "(remove one of them)",
			 key_line(ctx, "server", "password"));
		return ctx->err;
	}
	if (srv->password && key_line(ctx, "server", "password") &&
	    mode_exposes_secret(st->st_mode)) {
		ctx_fail(ctx, 0, -EACCES,
			 "contains a password but is readable by group/others (mode %04o); "
			 "run: chmod 600 %s",
			 (unsigned)(st->st_mode & 07777), ctx->path);
		return ctx->err;
	}
	if (srv->password_file) {
		r = read_password_file(ctx);
		if (r < 0)
			return r;
	}
	if (require_server && (!srv->client_id || !srv->password)) {
		ctx_fail(ctx, 0, -EINVAL, "server.%s: required key missing (%s)",
			 !srv->client_id ? "client_id" : "password",
			 !srv->client_id ? "add client_id = NAME under [server]"
					 : "add password or password_file under [server]");
		return ctx->err;
	}

	free(ctx->cfg->base_url);
	ctx->cfg->base_url = NULL;
	if (srv->url) {
		free(srv->server_address);
		srv->server_address = NULL;
		why = config_url_split(srv->url, &srv->tls, &srv->server_address, &srv->server_port,
				       &ctx->cfg->base_url);
		if (why) {
			/* The value was validated when read: only allocation can fail here. */
			ctx_fail(ctx, url_line, -ENOMEM, "server.url: %s", why);
			return ctx->err;
		}
		return 0;
	}
	r = asprintf(&ctx->cfg->base_url, "%s://%s%s%s:%llu", srv->tls ? "https" : "http",
		     strchr(srv->server_address, ':') ? "[" : "", srv->server_address,
		     strchr(srv->server_address, ':') ? "]" : "",
		     (unsigned long long)srv->server_port);
	if (r < 0) {
		ctx->cfg->base_url = NULL;
		ctx_fail(ctx, 0, -ENOMEM, "out of memory");
		return ctx->err;
	}
	return 0;
}

int config_init_defaults(struct config *cfg)
{
	char problem[256];
	int r = 0;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < config_key_count; i++) {
		r = config_key_set(&config_keys[i], cfg, config_keys[i].def, problem,
				   sizeof(problem));
		if (r < 0)
			break;
	}
	if (r < 0)
		config_free(cfg);
	return r;
}

int config_load(struct config *cfg, const char *path, bool require_server, char *errbuf,
		size_t errlen)
{
	struct load_ctx *ctx;
	struct stat st;
	FILE *f = NULL;
	int fd, r;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		r = -ENOMEM;
		if (errbuf && errlen)
			(void)snprintf(errbuf, errlen, "%s: out of memory", path);
		goto out;
	}
	ctx->cfg = cfg;
	ctx->path = path;
	ctx->at_line_start = true;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		ctx_fail(ctx, 0, r, "cannot open: %s", strerror(-r));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		ctx_fail(ctx, 0, r, "cannot stat: %s", strerror(-r));
		close(fd);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		ctx_fail(ctx, 0, r, "not a regular file");
		close(fd);
		goto out;
	}
	f = fdopen(fd, "r");
	if (!f) {
		r = -errno;
		ctx_fail(ctx, 0, r, "cannot open: %s", strerror(-r));
		close(fd);
		goto out;
	}
	ctx->f = f;

	r = ini_parse_stream(ctx_read, ctx, on_key, ctx);
	if (ferror(f))
		ctx_fail(ctx, 0, -EIO, "read error");
	else if (r == -2)
		ctx_fail(ctx, 0, -ENOMEM, "out of memory");
	else if (r > 0 && (!ctx->err || r < ctx->err_line))
		/* inih found something classify_line() did not foresee. */
		ctx_fail(ctx, r, -EINVAL, "syntax error");
	if (ctx->err) {
		r = ctx->err;
		goto out;
	}

	r = finish_load(ctx, &st, require_server);
	if (r < 0)
		goto out;
	free(cfg->path);
	cfg->path = strdup(path);
	if (!cfg->path) {
		r = -ENOMEM;
		ctx_fail(ctx, 0, r, "out of memory");
	}
out:
	if (f)
		(void)fclose(f);
	if (r < 0) {
		if (ctx && errbuf && errlen) {
			if (ctx->err_line > 0)
				(void)snprintf(errbuf, errlen, "%s:%d: %s", path, ctx->err_line,
					       ctx->err_msg);
			else if (ctx->err_line == ERR_LINE_NAMED)
				(void)snprintf(errbuf, errlen, "%s", ctx->err_msg);
			else
				(void)snprintf(errbuf, errlen, "%s: %s", path, ctx->err_msg);
		}
		config_free(cfg);
	}
	free(ctx);
	return r;
}

/* ---- printing ---- */

/* Writes the value of k in cfg as it would appear in a config file ("" when unset). */
/* Keys that url sets; printing them as settings would conflict with url on reading back. */
static bool key_derived_from_url(const struct config_key *k, const struct config *cfg)
{
	if (!cfg->server.url || strcmp(k->section, "server") != 0)
		return false;
	return strcmp(k->name, "server_address") == 0 || strcmp(k->name, "server_port") == 0 ||
	       strcmp(k->name, "tls") == 0;
}

void config_print(const struct config *cfg, FILE *out)
{
	const char *section = NULL;
	char value[1024];

	if (cfg->path)
		(void)fprintf(out, "# effective configuration read from %s\n", cfg->path);
	else
		(void)fprintf(out, "# effective configuration (defaults)\n");
	for (size_t i = 0; i < config_key_count; i++) {
		const struct config_key *k = &config_keys[i];

		if (!section || strcmp(section, k->section) != 0) {
			if (section && strcmp(section, "server") == 0 && cfg->base_url)
				(void)fprintf(out, "# derived: base_url = %s\n", cfg->base_url);
			section = k->section;
			(void)fprintf(out, "%s[%s]\n", i ? "\n" : "", section);
		}
		config_key_format(k, cfg, value, sizeof(value));
		/* " ; (unset)" reads back as an empty value. */
		if (key_derived_from_url(k, cfg))
			(void)fprintf(out, "# %s = %s (from url)\n", k->name, value);
		else if (value[0])
			(void)fprintf(out, "%s = %s\n", k->name, value);
		else
			(void)fprintf(out, "%s = ; (unset)\n", k->name);
	}
}

void config_print_reference(FILE *out)
{
	char range[256];

	(void)fprintf(out, "| Section | Key | Type | Default | Range | Description |\n");
	(void)fprintf(out, "| --- | --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < config_key_count; i++) {
		const struct config_key *k = &config_keys[i];

		config_key_range(k, range, sizeof(range));
		(void)fprintf(out, "| %s | `%s` | %s | ", k->section, k->name,
			      config_key_type_names[k->type]);
		if (k->def[0])
			(void)fprintf(out, "`%s`", k->def);
		else
			(void)fprintf(out, "(unset)");
		(void)fprintf(out, " | %s | %s |\n", range, k->doc);
	}
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < config_key_count; i++) {
		const struct config_key *k = &config_keys[i];
		void *field = config_key_field(k, cfg);

		if (k->type == KEY_LIST) {
			config_strlist_free(field);
		} else if (config_key_is_string(k)) {
			if (k->type == KEY_SECRET && *(char **)field)
				explicit_bzero(*(char **)field, strlen(*(char **)field));
			free(*(char **)field);
			*(char **)field = NULL;
		}
	}
	free(cfg->path);
	free(cfg->base_url);
	memset(cfg, 0, sizeof(*cfg));
}

int config_load_optional(struct config *cfg, const char *path, char *errbuf, size_t errlen)
{
	if (!path) {
		if (access(CONFIG_DEFAULT_PATH, F_OK) != 0)
			return 0;
		path = CONFIG_DEFAULT_PATH;
	}
	return config_load(cfg, path, false, errbuf, errlen);
}
