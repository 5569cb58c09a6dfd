"""The Prometheus endpoint: a real scrape of a running agent is valid OpenMetrics
(`promtool check metrics`) and carries the same figures the agent ships."""
import os
import re
import shutil
import subprocess
import sys
import time

from srvmon_testlib import (Agent, Server, Workdir, agent_config, check, fail, http, http_response,
                            meminfo_bytes, wait_for, write_config)

PROMTOOL = shutil.which("promtool")
t0 = time.monotonic()
work = Workdir()
# Default --speedtest token: the agent's speed test sends its access token.
server = Server(work)
server.add_user("agent1", "s3cret-pass")
server.start()

# Off by default: nothing listens.
agent = Agent(work, write_config(work, agent_config(server)), log_name="off.log").start()
wait_for(lambda: server.records("resources"), 30, "records from the agent without [metrics]")
check("metrics:" not in agent.read_log(), "no /metrics endpoint unless [metrics] enabled")
check(agent.stop() == 0, "agent exits 0")

extra = ("\n[speedtest]\nenabled = true\nfirst_delay = 0s\nfirst_jitter = 0s\nmax_duration = 1s\n"
         "max_megabytes = 4\n\n[metrics]\nenabled = true\nlisten = 127.0.0.1:0\n")
agent = Agent(work, write_config(work, agent_config(server, extra=extra), name="m.conf")).start()
port = int(wait_for(lambda: re.search(r"metrics: serving OpenMetrics on '127.0.0.1:0' "
                                      r"\(port (\d+)\)", agent.read_log()),
                    20, "the metrics endpoint to listen").group(1))
url = "http://127.0.0.1:%d/metrics" % port


OM_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
             "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")  # Prometheus'


def scrape(accept=OM_ACCEPT):
    status, headers, body = http_response("GET", url, headers={"Accept": accept} if accept else {})
    if status != 200:
        fail("scrape %s: HTTP %d" % (url, status))
    return headers.get("Content-Type"), body


def complete():
    _, body = scrape()
    need = ("srvmon_cpu_usage_ratio ", "srvmon_network_receive_bytes_total{",
            "srvmon_speedtest_download_bytes_per_second{", "srvmon_module_up{")
    return body if all(n in body for n in need) else None


body = wait_for(complete, 40, "a scrape with resources, network, speedtest and agent figures",
                interval=0.5)
ctype, _ = scrape()
check(ctype.startswith("application/openmetrics-text; version=1.0.0"),
      "Content-Type is OpenMetrics: %s" % ctype)
check(body.endswith("# EOF\n"), "the exposition ends with # EOF")
samples = {}
for line in body.splitlines():
    if line and not line.startswith("#"):
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
check(samples.get("srvmon_memory_total_bytes") == meminfo_bytes("MemTotal"),
      "srvmon_memory_total_bytes equals MemTotal")
st = os.statvfs("/")
check(samples.get('srvmon_filesystem_size_bytes{mountpoint="/"}') == st.f_blocks * st.f_frsize,
      "srvmon_filesystem_size_bytes{mountpoint=\"/\"} equals statvfs('/')")
check(0.0 <= samples["srvmon_cpu_usage_ratio"] <= 1.0, "CPU usage is a ratio")
ifs = [k for k in samples if k.startswith("srvmon_network_receive_bytes_total{interface=")]
check(ifs, "per-interface receive counters: %s" % ifs)
check(samples['srvmon_module_up{module="network"}'] == 1 and
      samples['srvmon_module_up{module="history"}'] == 0, "module_up: network 1, history 0")
check(samples["srvmon_speedtest_download_bytes_per_second{server=\"%s\"}" % server.base_url] > 0,
      "the speed test's download rate is exposed")
for name in ("srvmon_events_lost_total", "srvmon_reconnects_total", "srvmon_spool_bytes"):
    check(name in samples, "agent figure %s present" % name)
for fam in ("srvmon_network_receive_bytes", "srvmon_memory_total_bytes"):
    check("# TYPE %s " % fam in body and "# HELP %s " % fam in body and
          "# UNIT %s bytes" % fam in body, "%s has TYPE, HELP and UNIT lines" % fam)

check("# TYPE srvmon_network_receive_bytes counter" in body and
      "# TYPE srvmon_events_lost counter" in body,
      "OpenMetrics counter families are named without _total")

# The strict OpenMetrics parser of python3-prometheus-client (Debian's python, where the
# package lives), when it is there.
PARSE = ("import sys\nfrom prometheus_client.openmetrics.parser import "
         "text_string_to_metric_families as p\n"
         "print(len(list(p(sys.stdin.read()))))\n")
for py in ("/usr/bin/python3", sys.executable):
    r = subprocess.run([py, "-c", PARSE], input=body, capture_output=True, text=True,
                       timeout=60)
    if "No module named" in r.stderr:
        continue
    check(r.returncode == 0 and int(r.stdout) >= 15,
          "the OpenMetrics parser accepts the scrape: %s families %s"
          % (r.stdout.strip(), r.stderr.strip()[-300:]))
    break
else:
    print("note: python3-prometheus-client not installed, OpenMetrics parser not run")

# Without an OpenMetrics Accept header (curl, promtool's users): text format 0.0.4.
ctype, text = scrape(accept=None)
check(ctype.startswith("text/plain; version=0.0.4"), "plain scrape: text format 0.0.4")
check("# EOF" not in text and "# TYPE srvmon_network_receive_bytes_total counter" in text,
      "text format: counter families named with _total, no # EOF")
if PROMTOOL:
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
          "promtool check metrics on a real scrape: no problem (%s)"
          % (r.stdout + r.stderr).strip())
else:
    fail("promtool not installed (Debian package prometheus, scripts/install-deps.sh)")

check(http("GET", "http://127.0.0.1:%d/other" % port)[0] == 404, "another path gives 404")
check(agent.stop() == 0, "agent exits 0")
server.stop()
print("elapsed %.1fs" % (time.monotonic() - t0))
