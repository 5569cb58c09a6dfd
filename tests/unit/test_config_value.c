/* Unit tests for printing the configuration (config_value.c): the effective configuration
 * (secrets masked, read back to the same values) and the key reference, which
 * docs/configuration.md and etc/agent.conf.example must match. Run with --reference to print
 * the key table (the generated part of docs/configuration.md). */
#include "config_fixture.h"

static void test_print_masks_secret(void **state)
{
	char path[PATH_MAX], err[512];
	struct config cfg;
	char *out;

	(void)state;
	fixture_copy("valid_full.conf", path);
	assert_int_equal(load(&cfg, path, true, err, sizeof(err)), 0);
	out = print_to_string(&cfg);
	assert_null(strstr(out, "hunter2"));
	assert_non_null(strstr(out, "\npassword = ********\n"));
	assert_non_null(strstr(out, "\nclient_id = agent-01\n"));
	assert_non_null(strstr(out, "\npassword_file = ; (unset)\n"));
	assert_non_null(strstr(out, "\nmounts = /, /home, /var, /srv\n"));
	assert_non_null(strstr(out, "\nconnect_timeout = 500ms\n"));
	assert_non_null(strstr(out, "\nreconnect_max = 5m\n"));
	assert_non_null(strstr(out, "\n[network]\n"));
	free(out);
	config_free(&cfg);
	unlink(path);
}

/* config_print output is itself a valid config that reads back to the same values. */
static void test_print_round_trip(void **state)
{
	char path[PATH_MAX], err[512];
	struct config cfg;
	char *a, *b;

	(void)state;
	assert_int_equal(config_init_defaults(&cfg), 0);
	a = print_to_string(&cfg);
	config_free(&cfg);
	write_tmp("roundtrip.conf", a, 0600, path);
	assert_int_equal(load(&cfg, path, false, err, sizeof(err)), 0);
	b = print_to_string(&cfg);
	assert_string_equal(settings_only(a), settings_only(b));
	free(a);
	free(b);
	config_free(&cfg);
	unlink(path);
}

/* docs/configuration.md holds exactly config_print_reference() between the markers. */
static void test_docs_in_sync(void **state)
{
	static const char begin[] = "<!-- BEGIN KEYS -->\n";
	static const char end[] = "<!-- END KEYS -->";
	char *doc = read_all(DOCS_PATH);
	char *ref = reference_to_string();
	char *b, *e;

	(void)state;
	assert_non_null(doc);
	b = strstr(doc, begin);
	assert_non_null(b);
	b += strlen(begin);
	e = strstr(b, end);
	assert_non_null(e);
	*e = '\0';
	if (strcmp(b, ref) != 0)
		fail_msg("docs/configuration.md is stale: regenerate the key table with "
			 "test_config_value --reference");
	free(doc);
	free(ref);
}

/* etc/agent.conf.example: every key commented out with its default. Uncommented, it must
 * set every key exactly once and yield the defaults. */
static void test_example_in_sync(void **state)
{
	char *example = read_all(EXAMPLE_PATH);
	char path[PATH_MAX], err[512];
	char *text = NULL, *a, *b;
	size_t text_len = 0, keys = 0, printed = 0;
	struct config cfg;
	FILE *mem;

	(void)state;
	assert_non_null(example);
	/* As shipped (all commented) it yields the defaults. */
	write_tmp("example.conf", example, 0600, path);
	assert_int_equal(load(&cfg, path, false, err, sizeof(err)), 0);
	a = print_to_string(&cfg);
	config_free(&cfg);

	mem = open_memstream(&text, &text_len);
	assert_non_null(mem);
	for (char *line = example; *line;) {
		char *nl = strchrnul(line, '\n');
		int len = (int)(nl - line);

		/* "#key = value" lines are settings; "# text" lines are prose. */
		if (len > 1 && line[0] == '#' && line[1] != ' ' && line[1] != '#') {
			fprintf(mem, "%.*s\n", len - 1, line + 1);
			keys++;
		} else {
			fprintf(mem, "%.*s\n", len, line);
		}
		line = *nl ? nl + 1 : nl;
	}
	fclose(mem);
	write_tmp("example.conf", text, 0600, path);
	assert_int_equal(load(&cfg, path, false, err, sizeof(err)), 0);
	b = print_to_string(&cfg);
	assert_string_equal(settings_only(a), settings_only(b));
	for (char *p = b; (p = strstr(p, " = ")); p++)
		printed++;
	assert_int_equal(keys, printed);
	config_free(&cfg);
	free(a);
	free(b);
	free(text);
	free(example);
	unlink(path);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_print_masks_secret),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_docs_in_sync),
		cmocka_unit_test(test_example_in_sync),
	};

	if (argc == 2 && strcmp(argv[1], "--reference") == 0) {
		config_print_reference(stdout);
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
