/* Unit tests for the configuration loader (config.c): defaults, files, errors naming file,
 * line and key, the password and its file, derived values. */
#include "config_fixture.h"

static void test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(config_init_defaults(&cfg), 0);
	assert_null(cfg.server.url);
	assert_string_equal(cfg.server.server_address, "127.0.0.1");
	assert_int_equal(cfg.server.server_port, 8080);
	assert_false(cfg.server.tls);
	assert_null(cfg.server.ca_file);
	assert_null(cfg.server.client_id);
	assert_null(cfg.server.password);
	assert_null(cfg.server.password_file);
	assert_string_equal(cfg.server.token_path, "/token");
	assert_string_equal(cfg.server.ws_path, "/ws");
	assert_false(cfg.server.token_in_query);
	assert_int_equal(cfg.server.connect_timeout_ms, 10000);
	assert_int_equal(cfg.server.reconnect_max_ms, 60000);
	assert_int_equal(cfg.server.ping_interval_ms, 30000);
	assert_null(cfg.agent.host_id);
	assert_string_equal(cfg.agent.state_dir, "/var/lib/srvmon");
	assert_int_equal(cfg.agent.log_level, LOG_LEVEL_INFO);
	assert_int_equal(cfg.agent.status_interval_ms, 60000);
	assert_int_equal(cfg.agent.queue_max, 10000);
	assert_true(cfg.resources.enabled);
	assert_int_equal(cfg.resources.interval_ms, 10000);
	assert_list(&cfg.resources.mounts, 1, "/");
	assert_true(cfg.network.enabled);
	assert_int_equal(cfg.network.interval_ms, 1000);
	assert_int_equal(cfg.network.collector, NET_COLLECTOR_AUTO);
	assert_list(&cfg.network.include, 0);
	assert_list(&cfg.network.exclude, 1, "lo");
	/* Periodic speed tests by default, as the old client ran them: every 6 h +- 30 min, the
	 * first 2-10 min after start, at most 100 MB. */
	assert_true(cfg.speedtest.enabled);
	assert_int_equal(cfg.speedtest.interval_ms, 6 * 3600 * 1000);
	assert_int_equal(cfg.speedtest.jitter_ms, 30 * 60 * 1000);
	assert_int_equal(cfg.speedtest.first_delay_ms, 2 * 60 * 1000);
	assert_int_equal(cfg.speedtest.first_jitter_ms, 8 * 60 * 1000);
	assert_int_equal(cfg.speedtest.max_megabytes, 100);
	config_free(&cfg);
	assert_zeroed(&cfg);
	config_free(&cfg); /* twice is harmless */
	config_free(NULL);
}

static void test_valid_full(void **state)
{
	char path[PATH_MAX], err[512];
	struct config cfg;

	(void)state;
	fixture_copy("valid_full.conf", path);
	assert_int_equal(load(&cfg, path, true, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(cfg.path, path);
	assert_string_equal(cfg.server.url, "https://api.example.com:8443/");
	assert_string_equal(cfg.server.server_address, "api.example.com");
	assert_int_equal(cfg.server.server_port, 8443);
	assert_true(cfg.server.tls);
	assert_string_equal(cfg.base_url, "https://api.example.com:8443");
	assert_string_equal(cfg.server.ca_file, "/etc/ssl/certs/test-ca.pem");
	assert_string_equal(cfg.server.client_id, "agent-01");
	assert_string_equal(cfg.server.password, "hunter2-secret");
	assert_null(cfg.server.password_file);
	assert_string_equal(cfg.server.token_path, "/api/token");
	assert_string_equal(cfg.server.ws_path, "/api/ws");
	assert_true(cfg.server.token_in_query);
	assert_int_equal(cfg.server.connect_timeout_ms, 500);
	assert_int_equal(cfg.server.reconnect_max_ms, 300000);
	assert_int_equal(cfg.server.ping_interval_ms, 15000);
	assert_string_equal(cfg.agent.host_id, "web-01.example_A");
	assert_string_equal(cfg.agent.state_dir, "/var/lib/srvmon-test");
	assert_int_equal(cfg.agent.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg.agent.status_interval_ms, 120000);
	assert_int_equal(cfg.agent.queue_max, 5000);
	assert_false(cfg.resources.enabled);
	assert_int_equal(cfg.resources.interval_ms, 30000);
	assert_list(&cfg.resources.mounts, 4, "/", "/home", "/var", "/srv");
	assert_false(cfg.network.enabled);
	assert_int_equal(cfg.network.interval_ms, 250);
	assert_int_equal(cfg.network.collector, NET_COLLECTOR_PROCFS);
	assert_list(&cfg.network.include, 2, "eth0", "eth1");
	assert_list(&cfg.network.exclude, 2, "lo", "docker0");
	config_free(&cfg);
	unlink(path);
}

static void test_old_client_flat_file(void **state)
{
	char path[PATH_MAX], err[512];
	struct config cfg;

	(void)state;
	fixture_copy("old_client.conf", path);
	assert_int_equal(load(&cfg, path, true, err, sizeof(err)), 0);
	assert_string_equal(cfg.server.client_id, "legacy-agent");
	assert_string_equal(cfg.server.password, "legacy-pass");
	assert_string_equal(cfg.server.server_address, "192.0.2.10");
	assert_int_equal(cfg.server.server_port, 9000);
	assert_false(cfg.server.tls);
	assert_null(cfg.server.url);
	assert_string_equal(cfg.base_url, "http://192.0.2.10:9000");
	config_free(&cfg);
	unlink(path);
}

static void test_empty_file_defaults(void **state)
{
	char path[PATH_MAX], err[512];
	struct config cfg, def;
	char *a, *b;

	(void)state;
	snprintf(path, sizeof(path), "%s/empty.conf", CONFIG_FIXTURES);
	assert_int_equal(load(&cfg, path, false, err, sizeof(err)), 0);
	assert_string_equal(cfg.base_url, "http://127.0.0.1:8080");
	assert_int_equal(config_init_defaults(&def), 0);
	a = print_to_string(&cfg);
	b = print_to_string(&def);
	assert_string_equal(settings_only(a), settings_only(b));
	free(a);
	free(b);
	config_free(&def);
	config_free(&cfg);

	/* The same file is refused when the server keys are required. */
	assert_int_equal(load(&cfg, path, true, err, sizeof(err)), -EINVAL);
	assert_zeroed(&cfg);
}

struct error_case {
	const char *file;
	bool require_server;
	const char *expect; /* what follows "PATH:" */
	int err;
};

static const struct error_case error_cases[] = {
	{"err_syntax.conf", false, "4: syntax error", -EINVAL},
	{"err_section_bracket.conf", false, "2: syntax error: section header lacks the closing ]",
	 -EINVAL},
	{"err_unknown_section.conf", false,
	 "4: [serverx]: unknown section (use [server], [agent], [spool], [resources], [network], "
	 "[speedtest], [history] or [metrics])",
	 -EINVAL},
	{"err_unknown_key.conf", false, "3: agent.colour: unknown key (", -EINVAL},
	{"err_wrong_section.conf", false,
	 "2: server.log_level: unknown key (it belongs under [agent])", -EINVAL},
	{"err_flat_non_server.conf", false,
	 "1: log_level: only [server] keys may precede the first section header (put it under "
	 "[agent])",
	 -EINVAL},
	{"err_bad_bool.conf", false,
	 "2: server.tls: invalid boolean \"maybe\" (use true/false, yes/no, on/off or 1/0)",
	 -EINVAL},
	{"err_bad_duration.conf", false, "2: resources.interval: invalid duration \"10\" (use ",
	 -EINVAL},
	{"err_duration_range.conf", false,
	 "3: server.connect_timeout: duration \"10m\" out of range (100ms..5m)", -ERANGE},
	{"err_bad_number.conf", false, "2: agent.queue_max: invalid number \"10k\"", -EINVAL},
	{"err_range.conf", false, "2: agent.queue_max: 5 out of range (10..10000000)", -ERANGE},
	{"err_port_range.conf", false, "2: server.server_port: 70000 out of range (1..65535)",
	 -ERANGE},
	{"err_bad_enum.conf", false,
	 "2: network.collector: invalid value \"ebpf\" (use one of: auto, bpf, procfs)", -EINVAL},
	{"err_bad_log_level.conf", false,
	 "2: agent.log_level: invalid value \"verbose\" (use one of: error, warning, info, debug)",
	 -EINVAL},
	{"err_duplicate.conf", false, "5: agent.queue_max: duplicate key (first set on line 2)",
	 -EINVAL},
	{"err_duplicate_flat.conf", false,
	 "3: server.client_id: duplicate key (first set on line 1)", -EINVAL},
	{"err_url_conflict.conf", false,
	 "3: server.server_address: cannot be combined with server.url (line 2)", -EINVAL},
	{"err_bad_url.conf", false,
	 "2: server.url: invalid value \"ftp://api.example.com\" (scheme must be http:// or "
	 "https://)",
	 -EINVAL},
	{"err_url_path.conf", false, "2: server.url: invalid value \"https://api.example.com/v1\"",
	 -EINVAL},
	{"err_token_path.conf", false,
	 "2: server.token_path: invalid value \"token\" (must start with /)", -EINVAL},
	{"err_host_id.conf", false, "2: agent.host_id: invalid value \"bad!id\" (may only contain",
	 -EINVAL},
	{"err_mount_relative.conf", false,
	 "2: resources.mounts: invalid item \"home\" (must be an absolute path)", -EINVAL},
	{"err_mounts_too_many.conf", false, "2: resources.mounts: too many items (at most 16)",
	 -EINVAL},
	{"err_continuation.conf", false, "3: server.url: indented line continues this key's value",
	 -EINVAL},
	{"err_long_line.conf", false, "2: line longer than", -EINVAL},
	{"err_missing_password.conf", true, " server.password: required key missing (", -EINVAL},
	{"err_missing_client_id.conf", true, " server.client_id: required key missing (", -EINVAL},
};

static void test_error_cases(void **state)
{
	char path[PATH_MAX], err[512], expect[PATH_MAX + 256];
	struct config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];
		int r;

		fixture_copy(c->file, path);
		r = load(&cfg, path, c->require_server, err, sizeof(err));
		snprintf(expect, sizeof(expect), "%s:%s", path, c->expect);
		if (r != c->err || strncmp(err, expect, strlen(expect)) != 0 || strchr(err, '\n'))
			fail_msg("%s: got %d \"%s\", want %d \"%s...\"", c->file, r, err, c->err,
				 expect);
		assert_zeroed(&cfg);
		unlink(path);
	}
}

static void test_missing_file(void **state)
{
	char path[PATH_MAX], err[512], expect[PATH_MAX + 64];
	struct config cfg;

	(void)state;
	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	assert_int_equal(load(&cfg, path, false, err, sizeof(err)), -ENOENT);
	snprintf(expect, sizeof(expect), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, expect);
	assert_zeroed(&cfg);

	assert_int_equal(load(&cfg, tmpdir, false, err, sizeof(err)), -EISDIR);
	/* A NULL error buffer is allowed. */
	assert_int_equal(load(&cfg, path, false, NULL, 0), -ENOENT);
}

static void test_password_mode(void **state)
{
	static const char text[] = "[server]\nclient_id = c\npassword = mode-secret\n";
	char path[PATH_MAX], err[512], expect[3 * PATH_MAX];
	struct config cfg;

	(void)state;
	write_tmp("mode.conf", text, 0644, path);
	assert_int_equal(load(&cfg, path, true, err, sizeof(err)), -EACCES);
	snprintf(expect, sizeof(expect),
		 "%s: contains a password but is readable by group/others (mode 0644); run: "
		 "chmod 600 %s",
		 path, path);
	assert_string_equal(err, expect);
	assert_null(strstr(err, "mode-secret"));
	assert_zeroed(&cfg);

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(load(&cfg, path, true, err, sizeof(err)), -EACCES);

	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(load(&cfg, path, true, err, sizeof(err)), 0);
	assert_string_equal(cfg.server.password, "mode-secret");
	config_free(&cfg);

	/* Without a password, a world-readable file is fine. */
	write_tmp("mode.conf", "[server]\nclient_id = c\n", 0644, path);
	assert_int_equal(load(&cfg, path, false, err, sizeof(err)), 0);
	config_free(&cfg);
	unlink(path);
}

static void test_password_file(void **state)
{
	char conf[PATH_MAX], pw[PATH_MAX], text[2 * PATH_MAX], err[512], expect[3 * PATH_MAX];
	struct config cfg;

	(void)state;
	write_tmp("pw", "from-file-secret\n", 0600, pw);
	snprintf(text, sizeof(text), "[server]\nclient_id = c\npassword_file = %s\n", pw);
	/* The config file holds no secret itself: 0644 is fine. */
	write_tmp("pwfile.conf", text, 0644, conf);
	assert_int_equal(load(&cfg, conf, true, err, sizeof(err)), 0);
	assert_string_equal(cfg.server.password, "from-file-secret");
	assert_string_equal(cfg.server.password_file, pw);
	config_free(&cfg);

	/* Only the newline is stripped; inner spaces stay. */
	write_tmp("pw", "two words \r\n", 0600, pw);
	assert_int_equal(load(&cfg, conf, true, err, sizeof(err)), 0);
	assert_string_equal(cfg.server.password, "two words ");
	config_free(&cfg);

	assert_int_equal(chmod(pw, 0604), 0);
	assert_int_equal(load(&cfg, conf, true, err, sizeof(err)), -EACCES);
	snprintf(expect, sizeof(expect),
		 "%s: contains a password but is readable by group/others (mode 0604); run: "
		 "chmod 600 %s",
		 pw, pw);
	assert_string_equal(err, expect);
	assert_zeroed(&cfg);

	write_tmp("pw", "\n", 0600, pw);
	assert_int_equal(load(&cfg, conf, true, err, sizeof(err)), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:3: server.password_file: \"%s\" is empty", conf, pw);
	assert_string_equal(err, expect);

	unlink(pw);
	assert_int_equal(load(&cfg, conf, true, err, sizeof(err)), -ENOENT);
	snprintf(expect, sizeof(expect), "%s:3: server.password_file: cannot open \"%s\"", conf,
		 pw);
	assert_true(strncmp(err, expect, strlen(expect)) == 0);

	/* password and password_file together are ambiguous. */
	write_tmp("pw", "x\n", 0600, pw);
	snprintf(text, sizeof(text), "[server]\npassword = p\npassword_file = %s\n", pw);
	write_tmp("pwfile.conf", text, 0600, conf);
	assert_int_equal(load(&cfg, conf, false, err, sizeof(err)), -EINVAL);
	snprintf(expect, sizeof(expect),
		 "%s:3: server.password_file: cannot be combined with server.password (line 2)",
		 conf);
	assert_true(strncmp(err, expect, strlen(expect)) == 0);
	unlink(pw);
	unlink(conf);
}

struct url_case {
	const char *text;
	const char *address;
	uint64_t port;
	bool tls;
	const char *base_url;
};

static void test_url_derivation(void **state)
{
	static const struct url_case cases[] = {
		{"[server]\nurl = http://[::1]:9000\n", "::1", 9000, false, "http://[::1]:9000"},
		{"[server]\nurl = https://[2001:db8::5]/\n", "2001:db8::5", 443, true,
		 "https://[2001:db8::5]"},
		{"[server]\nurl = HTTPS://example.org\n", "example.org", 443, true,
		 "https://example.org"},
		{"[server]\nurl = http://example.org/\n", "example.org", 80, false,
		 "http://example.org"},
		{"[server]\nserver_address = ::1\nserver_port = 8443\ntls = true\n", "::1", 8443,
		 true, "https://[::1]:8443"},
		{"server_address = localhost\n", "localhost", 8080, false, "http://localhost:8080"},
	};
	static const char *const bad[] = {
		"url = http://::1:80\n",      "url = https://host:0\n",
		"url = https://host:99999\n", "url = https://:80\n",
		"url = https://u:p@host\n",   "url = http://[::1\n",
		"url = https://host/?q=1\n",  "server_address = [::1]\n",
	};
	char path[PATH_MAX], err[512];
	struct config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_tmp("url.conf", cases[i].text, 0600, path);
		assert_int_equal(load(&cfg, path, false, err, sizeof(err)), 0);
		assert_string_equal(cfg.server.server_address, cases[i].address);
		assert_int_equal(cfg.server.server_port, cases[i].port);
		assert_int_equal(cfg.server.tls, cases[i].tls);
		assert_string_equal(cfg.base_url, cases[i].base_url);
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_tmp("url.conf", bad[i], 0600, path);
		if (load(&cfg, path, false, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(err, ":1: server."));
	}
	unlink(path);
}

static void test_defaults_then_load_twice(void **state)
{
	char path[PATH_MAX], err[512];
	struct config cfg;

	(void)state;
	/* Loading over a loaded config replaces every value without leaking (ASan build). */
	fixture_copy("valid_full.conf", path);
	assert_int_equal(load(&cfg, path, true, err, sizeof(err)), 0);
	assert_int_equal(config_load(&cfg, path, true, err, sizeof(err)), 0);
	assert_string_equal(cfg.server.password, "hunter2-secret");
	assert_list(&cfg.resources.mounts, 4, "/", "/home", "/var", "/srv");
	config_free(&cfg);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_valid_full),
		cmocka_unit_test(test_old_client_flat_file),
		cmocka_unit_test(test_empty_file_defaults),
		cmocka_unit_test(test_error_cases),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_password_mode),
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_url_derivation),
		cmocka_unit_test(test_defaults_then_load_twice),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
