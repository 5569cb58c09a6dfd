#include "speedtest_cli.h"

#include "config.h"
#include "log.h"
#include "message_json.h"
#include "speedtest_message.h"
#include "speedtest.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	(void)fprintf(out,
		      "Usage: srvmon-agent speedtest [--server URL] [--json] [-c PATH] [-v]\n"
		      "Runs one speed test (latency, download, upload) and prints the result.\n\n"
		      "  -s, --server URL   LibreSpeed-compatible base URL, serving garbage and\n"
		      "                     empty, or garbage.php and empty.php (the PHP backend,\n"
		      "                     e.g. https://host/backend); default: the first\n"
		      "                     speedtest.servers entry, else the monitoring server\n"
		      "  -j, --json         print the speedtest record as JSON\n"
		      "  -c, --config PATH  configuration file (default " CONFIG_DEFAULT_PATH
		      ", if present)\n"
		      "  -v, --verbose      debug logging\n");
}

static void print_text(const struct speedtest_result *r)
{
	if (r->error[0]) {
		printf("speed test against %s failed after %.1f s: %s\n", r->server,
		       (double)r->duration_ms / 1000.0, r->error);
		return;
	}
	printf("server    %s (%s)\n"
	       "latency   %.2f ms (jitter %.2f ms)\n"
	       "download  %.2f Mbit/s (%.1f MB, %s)\n"
	       "upload    %.2f Mbit/s (%.1f MB, %s)\n"
	       "duration  %.1f s, %u streams%s\n",
	       r->server,
	       r->names == SPEEDTEST_NAMES_PHP ? "garbage.php, empty.php" : "garbage, empty",
	       r->latency_ms, r->jitter_ms, r->download_rate / 1e6, (double)r->bytes_down / 1e6,
	       r->stop_down, r->upload_rate / 1e6, (double)r->bytes_up / 1e6, r->stop_up,
	       (double)r->duration_ms / 1000.0, r->streams,
	       r->capped ? ", stopped by the byte cap" : "");
}

int speedtest_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"config", required_argument, NULL, 'c'}, {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},	  {0},
	};
	const char *config_path = NULL;
	const char *server = NULL;
	struct speedtest_result res;
	struct speedtest_opts o;
	struct config cfg;
	bool json = false;
	char errbuf[1024];
	char *base = NULL;
	int opt, r;
	int rc = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:jc:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			server = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		(void)fprintf(stderr, "srvmon-agent speedtest: unexpected argument '%s'\n",
			      argv[optind]);
		return 2;
	}
	r = config_init_defaults(&cfg);
	if (r == 0)
		r = config_load_optional(&cfg, config_path, errbuf, sizeof(errbuf));
	if (r < 0) {
		(void)fprintf(stderr, "srvmon-agent: %s\n",
			      r == -ENOMEM ? "out of memory" : errbuf);
		return EX_CONFIG_STATUS;
	}
	if (!server)
		server = cfg.speedtest.servers.n ? cfg.speedtest.servers.items[0] : cfg.base_url;
	if (!server || !server[0]) {
		(void)fprintf(stderr, "srvmon-agent speedtest: no server: pass --server URL\n");
		rc = 2;
		goto out;
	}
	base = strdup(server);
	if (!base)
		goto out;
	/* "http://host/" and "http://host" name the same server. */
	for (size_t n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
		base[n - 1] = '\0';
	o = (struct speedtest_opts){
		.server = base,
		.streams = (unsigned)cfg.speedtest.streams,
		.max_duration_ms = cfg.speedtest.max_duration_ms,
		.byte_cap = cfg.speedtest.max_megabytes * 1000000u,
		.timeout_ms = cfg.speedtest.timeout_ms,
	};
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("cannot initialise libcurl");
		goto out;
	}
	r = speedtest_run(&o, &res);
	curl_global_cleanup();
	if (r < 0) {
		log_err_errno(r, "speedtest: test against \"%s\" could not run", base);
		goto out;
	}
	if (json) {
		cJSON *msg = message_speedtest(&res);
		char *text = msg ? cJSON_PrintUnformatted(msg) : NULL;

		if (text)
			printf("%s\n", text);
		cJSON_free(text);
		cJSON_Delete(msg);
		if (!text)
			goto out;
	} else {
		print_text(&res);
	}
	rc = res.error[0] ? 1 : 0;
out:
	free(base);
	config_free(&cfg);
	return rc;
}
