/* server/static.c: the dashboard's paths, content types and entity tags, on the embedded files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "static.h"
#include "static_assets.h"

static const struct static_asset *asset(const char *name)
{
	for (size_t i = 0; i < static_assets_n; i++)
		if (strcmp(static_assets[i].name, name) == 0)
			return &static_assets[i];
	return NULL;
}

static void test_match(void **state)
{
	(void)state;
	assert_true(static_http_match("/"));
	assert_true(static_http_match("/index.html"));
	assert_true(static_http_match("/ui/app.js"));
	assert_true(static_http_match("/ui/"));
	assert_false(static_http_match("/token"));
	assert_false(static_http_match("/ws"));
	assert_false(static_http_match("/api/v1/hosts"));
	assert_false(static_http_match("/uix"));
	assert_false(static_http_match(""));
}

static void test_lookup(void **state)
{
	const struct static_asset *app = asset("app.js");
	enum static_cache cache;
	char uri[128];

	(void)state;
	assert_ptr_equal(static_lookup("/", &cache), &static_index);
	assert_int_equal(cache, STATIC_REVALIDATE);
	assert_ptr_equal(static_lookup("/index.html", &cache), &static_index);
	assert_non_null(app);
	assert_ptr_equal(static_lookup("/ui/app.js", &cache), app);
	assert_int_equal(cache, STATIC_REVALIDATE);
	(void)snprintf(uri, sizeof(uri), "/ui/%s", app->hashed_name);
	assert_ptr_equal(static_lookup(uri, &cache), app);
	assert_int_equal(cache, STATIC_IMMUTABLE);
	/* Nothing outside the table: no path walks, no partial names. */
	assert_null(static_lookup("/ui/", &cache));
	assert_null(static_lookup("/ui/../server/static.c", &cache));
	assert_null(static_lookup("/ui/vendor/uplot/LICENSE", &cache));
	assert_null(static_lookup("/ui/app.j", &cache));
	assert_null(static_lookup("/ui/app.js/", &cache));
	assert_null(static_lookup("/token", &cache));
}

/* What index.html links is served, by its hashed name; the vendored chart library is there. */
static void test_index_links(void **state)
{
	const char *html = (const char *)static_index.data;
	char ref[160];

	(void)state;
	assert_non_null(asset("uPlot.iife.min.js"));
	assert_non_null(asset("uPlot.min.css"));
	for (size_t i = 0; i < static_assets_n; i++) {
		const struct static_asset *a = &static_assets[i];
		size_t n = strlen(a->hashed_name);

		/* name.<12 hex>.ext, the hex being the ETag's */
		assert_true(n == strlen(a->name) + 13);
		assert_memory_equal(a->etag + 1,
				    a->hashed_name + n - 12 - strlen(strrchr(a->name, '.')), 12);
		(void)snprintf(ref, sizeof(ref), "\"/ui/%s\"", a->name);
		assert_null(memmem(html, static_index.len, ref, strlen(ref)));
	}
	(void)snprintf(ref, sizeof(ref), "\"/ui/%s\"", asset("app.js")->hashed_name);
	assert_non_null(memmem(html, static_index.len, ref, strlen(ref)));
	/* No inline script or style: the CSP would refuse them. */
	assert_null(memmem(html, static_index.len, "<script>", 8));
	assert_null(memmem(html, static_index.len, "<style", 6));
	assert_null(memmem(html, static_index.len, "style=", 6));
	assert_null(memmem(html, static_index.len, "http", 4));
}

static void test_content_type(void **state)
{
	(void)state;
	assert_string_equal(static_content_type("index.html"), "text/html; charset=utf-8");
	assert_string_equal(static_content_type("app.41d666c4eed3.js"),
			    "text/javascript; charset=utf-8");
	assert_string_equal(static_content_type("uPlot.min.css"), "text/css; charset=utf-8");
	assert_string_equal(static_content_type("favicon.svg"), "image/svg+xml");
	assert_string_equal(static_content_type("x.png"), "image/png");
	assert_string_equal(static_content_type("LICENSE"), "application/octet-stream");
	assert_string_equal(static_content_type("js"), "application/octet-stream");
	assert_string_equal(static_content_type(""), "application/octet-stream");
}

static void test_etag(void **state)
{
	(void)state;
	assert_true(static_etag_matches("\"abc\"", "\"abc\""));
	assert_true(static_etag_matches("W/\"abc\"", "\"abc\""));
	assert_true(static_etag_matches("\"x\", \"abc\"", "\"abc\""));
	assert_true(static_etag_matches("\"x\",W/\"abc\"", "\"abc\""));
	assert_true(static_etag_matches("*", "\"abc\""));
	assert_false(static_etag_matches("\"abcd\"", "\"abc\""));
	assert_false(static_etag_matches("\"ab\"", "\"abc\""));
	assert_false(static_etag_matches("abc", "\"abc\""));
	assert_false(static_etag_matches("", "\"abc\""));
	assert_false(static_etag_matches(" , ,", "\"abc\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),	    cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_index_links), cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_etag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
