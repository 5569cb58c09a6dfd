#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "metrics_http.h"
#include "network.h"
#include "resources.h"
#include "speedtest.h"
#include "network_metrics.h"
#include "resources_metrics.h"
#include "speedtest_metrics.h"

/* A snapshot of every module's families and the agent's, as a scrape renders it. */
struct fixture {
	struct metrics_snapshot snap;
	struct resources_sample resources;
	struct net_sample network;
	struct speedtest_result speedtest;
};

static struct fixture *full_snapshot(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct metrics_snapshot *s;

	assert_non_null(f);
	s = &f->snap;
	s->entries[s->n++] = (struct metrics_entry){&resources_metrics, &f->resources};
	f->resources.cpu_valid = true;
	f->resources.cpu_percent = 25.0;
	f->resources.ram_valid = true;
	f->resources.ram_total = 1000;
	f->resources.ram_available = 400;
	f->resources.n_disks = 2;
	snprintf(f->resources.disks[0].mount, sizeof(f->resources.disks[0].mount), "%s",
		 "/srv/a \"b\"\\c");
	f->resources.disks[0].total = 5000;
	f->resources.disks[0].available = 3000;
	snprintf(f->resources.disks[1].mount, sizeof(f->resources.disks[1].mount), "%s", "/dead");
	f->resources.disks[1].err = -ETIMEDOUT;
	s->entries[s->n++] = (struct metrics_entry){&network_metrics, &f->network};
	f->network.n_ifaces = 1;
	snprintf(f->network.ifaces[0].name, sizeof(f->network.ifaces[0].name), "%s", "eth0");
	f->network.ifaces[0].rx_bytes = 18446744073709551615ULL; /* exact, not a double */
	f->network.ifaces[0].tx_bytes = 7;
	f->network.ifaces[0].rx_rate = 8000; /* bits/s */
	s->entries[s->n++] = (struct metrics_entry){&speedtest_metrics, &f->speedtest};
	snprintf(f->speedtest.server, sizeof(f->speedtest.server), "%s", "http://127.0.0.1:8080");
	f->speedtest.download_rate = 80e6;
	f->speedtest.latency_ms = 12.5;
	s->have_agent = true;
	s->agent.events_lost = 3;
	s->agent.reconnects = 2;
	s->agent.n_modules = 2;
	s->agent.modules[0].name = "resources";
	s->agent.modules[0].up = true;
	s->agent.modules[1].name = "history";
	return f;
}

static void test_openmetrics(void **state)
{
	struct fixture *f = full_snapshot();
	struct sbuf b = {0};
	size_t len;

	(void)state;
	assert_int_equal(metrics_format(&f->snap, METRICS_OPENMETRICS, &b), 0);
	assert_non_null(strstr(b.s, "# TYPE srvmon_cpu_usage_ratio gauge\n"
				    "# UNIT srvmon_cpu_usage_ratio ratio\n"));
	assert_non_null(strstr(b.s, "\nsrvmon_cpu_usage_ratio 0.25\n"));
	assert_non_null(strstr(b.s, "\nsrvmon_memory_used_bytes 600\n"));
	/* Label values escaped; a timed-out mount is left out, not reported as 0. */
	assert_non_null(strstr(
		b.s, "srvmon_filesystem_size_bytes{mountpoint=\"/srv/a \\\"b\\\"\\\\c\"} 5000\n"));
	assert_null(strstr(b.s, "/dead"));
	assert_non_null(strstr(b.s, "# TYPE srvmon_network_receive_bytes counter\n"
				    "# UNIT srvmon_network_receive_bytes bytes\n"));
	assert_non_null(strstr(b.s, "srvmon_network_receive_bytes_total{interface=\"eth0\"} "
				    "18446744073709551615\n"));
	assert_non_null(strstr(
		b.s, "srvmon_network_receive_rate_bytes_per_second{interface=\"eth0\"} 1000\n"));
	/* No peak window (procfs collector): no peak families. */
	assert_null(strstr(b.s, "peak"));
	assert_non_null(strstr(b.s, "srvmon_speedtest_download_bytes_per_second{server=\"http://"
				    "127.0.0.1:8080\"} 10000000\n"));
	assert_non_null(strstr(b.s, "srvmon_speedtest_latency_seconds{server=\"http://127.0.0.1:"
				    "8080\"} 0.012500000000000001\n"));
	assert_non_null(strstr(b.s, "# TYPE srvmon_events_lost counter\n"));
	assert_non_null(strstr(b.s, "\nsrvmon_events_lost_total 3\n"));
	assert_non_null(strstr(b.s, "srvmon_module_up{module=\"resources\"} 1\n"));
	assert_non_null(strstr(b.s, "srvmon_module_up{module=\"history\"} 0\n"));
	len = strlen(b.s);
	assert_true(len > 6);
	assert_string_equal(b.s + len - 6, "# EOF\n");
	sbuf_free(&b);
	free(f);
}

static void test_text_format(void **state)
{
	struct fixture *f = full_snapshot();
	struct sbuf b = {0};

	(void)state;
	f->network.peak_window_ms = 100;
	assert_int_equal(metrics_format(&f->snap, METRICS_TEXT, &b), 0);
	assert_non_null(strstr(b.s, "# TYPE srvmon_network_receive_bytes_total counter\n"
				    "# HELP srvmon_network_receive_bytes_total "));
	assert_non_null(strstr(b.s, "srvmon_network_receive_peak_bytes_per_second{"));
	assert_null(strstr(b.s, "# UNIT"));
	assert_null(strstr(b.s, "# EOF"));
	sbuf_free(&b);
	free(f);
}

static void test_empty_registry(void **state)
{
	struct metrics *m = metrics_new();
	struct sbuf b = {0};

	(void)state;
	assert_non_null(m);
	assert_int_equal(metrics_render(m, METRICS_OPENMETRICS, &b), 0);
	assert_string_equal(b.s, "# EOF\n");
	metrics_set(NULL, &resources_metrics, NULL, 0); /* no-op while metrics are off */
	metrics_free(m);
	metrics_free(NULL);
	sbuf_free(&b);
}

static void test_listen_parse(void **state)
{
	char host[64];
	uint16_t port;

	(void)state;
	assert_int_equal(metrics_listen_parse("127.0.0.1:9469", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9469);
	assert_int_equal(metrics_listen_parse("[::1]:0", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(metrics_listen_parse("::1:9469", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(metrics_listen_parse("127.0.0.1", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(metrics_listen_parse(":9469", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(metrics_listen_parse("h:65536", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(metrics_listen_parse("h:12x", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(metrics_listen_parse("h:-1", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(metrics_listen_parse("[::1]9469", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(metrics_listen_parse("averylonghostname:1", host, 4, &port),
			 -ENAMETOOLONG);
}

static void test_route(void **state)
{
	int status, head_only, om;

	(void)state;
	metrics_http_route("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &status, &head_only, &om);
	assert_int_equal(status, 200);
	assert_int_equal(head_only, 0);
	assert_int_equal(om, 0);
	metrics_http_route("GET /metrics?x=1 HTTP/1.1\r\naccept: application/openmetrics-text; "
			   "version=1.0.0\r\n\r\n",
			   &status, &head_only, &om);
	assert_int_equal(status, 200);
	assert_int_equal(om, 1);
	/* The media type in another header does not count. */
	metrics_http_route("GET /metrics HTTP/1.1\r\nX-Y: application/openmetrics-text\r\n"
			   "Accept: text/plain\r\n\r\n",
			   &status, &head_only, &om);
	assert_int_equal(om, 0);
	metrics_http_route("HEAD /metrics HTTP/1.1\r\n\r\n", &status, &head_only, &om);
	assert_int_equal(status, 200);
	assert_int_equal(head_only, 1);
	metrics_http_route("GET /metricsx HTTP/1.1\r\n\r\n", &status, &head_only, &om);
	assert_int_equal(status, 404);
	metrics_http_route("POST /metrics HTTP/1.1\r\n\r\n", &status, &head_only, &om);
	assert_int_equal(status, 405);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openmetrics),    cmocka_unit_test(test_text_format),
		cmocka_unit_test(test_empty_registry), cmocka_unit_test(test_listen_parse),
		cmocka_unit_test(test_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
