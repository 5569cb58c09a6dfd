"""srvmon-agent --once: one sample of every module as wire messages, no server needed."""
import json
import os
import subprocess

from srvmon_testlib import (AGENT, Workdir, check, check_sanitizers, fail, machine_id,
                            meminfo_bytes, write_config)

work = Workdir()
conf = write_config(work, "[agent]\nstate_dir = %s\n" % work.file("state"))
r = subprocess.run([AGENT, "--config", conf, "--once"], capture_output=True, text=True, timeout=60)
check_sanitizers("srvmon-agent --once", r.stderr)
check(r.returncode == 0, "--once exits 0 (stderr: %s)" % r.stderr.strip()[-300:])

msgs = []
for line in r.stdout.splitlines():
    try:
        msgs.append(json.loads(line))
    except ValueError:
        fail("stdout line is not JSON: %r" % line)
by_type = {m["type"]: m for m in msgs}
check(sorted(by_type) == ["hello", "network", "resources", "status"],
      "one message of each type: %s" % sorted(by_type))

seqs = [m["seq"] for m in msgs]
check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "seq strictly increasing")
for m in msgs:
    for k in ("type", "host_id", "seq", "ts"):
        if k not in m:
            fail("%s message lacks %s" % (m["type"], k))
    if not isinstance(m["seq"], int) or not isinstance(m["ts"], int):
        fail("seq and ts must be JSON integers in %s" % m["type"])
check(all(m["host_id"] == machine_id() for m in msgs), "host_id is /etc/machine-id")

hello = by_type["hello"]
for k in ("agent_version", "hostname", "kernel", "os", "boot_id", "modules", "collector"):
    if k not in hello:
        fail("hello lacks %s" % k)
check(hello["kernel"] == os.uname().release, "hello kernel is uname -r")
with open("/proc/sys/kernel/random/boot_id") as f:
    check(hello["boot_id"] == f.read().strip(), "hello boot_id")
check(hello["collector"] in ("bpf", "procfs"), "hello collector: %s" % hello["collector"])

res = by_type["resources"]
for k in ("cpu_percent", "ram_total", "ram_available", "disk_total", "disk_available", "disks"):
    if k not in res:
        fail("resources lacks %s" % k)
check(res["ram_total"] == meminfo_bytes("MemTotal"), "ram_total equals MemTotal")
avail = meminfo_bytes("MemAvailable")
check(abs(res["ram_available"] - avail) < 0.05 * res["ram_total"], "ram_available near MemAvailable")
st = os.statvfs("/")
check(res["disk_total"] == st.f_blocks * st.f_frsize, "disk_total equals statvfs('/')")
check(abs(res["disk_available"] - st.f_bavail * st.f_frsize) < 256 * 1024 * 1024,
      "disk_available near f_bavail * f_frsize")
check(0.0 <= res["cpu_percent"] <= 100.0, "cpu_percent in 0..100")
check(res["disks"][0]["mount"] == "/", "disks[0] is /")

net = by_type["network"]
for k in ("upload_rate", "download_rate", "interval_ms", "interfaces"):
    if k not in net:
        fail("network lacks %s" % k)
check(net["interval_ms"] >= 900, "network interval_ms measured (%d)" % net["interval_ms"])
for i in net["interfaces"]:
    for k in ("name", "rx_bytes", "tx_bytes", "rx_rate", "tx_rate"):
        if k not in i:
            fail("interface entry lacks %s" % k)

status = by_type["status"]
for k in ("modules", "events_lost", "reconnects"):
    if k not in status:
        fail("status lacks %s" % k)

# Without a configuration file --once samples with the defaults ("no server needed");
# a file named by --config must exist.
if not os.path.exists("/etc/srvmon/agent.conf"):
    r = subprocess.run([AGENT, "--once"], capture_output=True, text=True, timeout=60)
    check_sanitizers("srvmon-agent --once (no file)", r.stderr)
    types = sorted(json.loads(l)["type"] for l in r.stdout.splitlines())
    check(r.returncode == 0 and types == ["hello", "network", "resources", "status"],
          "--once without /etc/srvmon/agent.conf samples with the defaults (rc %d, %s)"
          % (r.returncode, types))
else:
    print("skip: /etc/srvmon/agent.conf exists on this machine")
missing = work.file("missing.conf")
r = subprocess.run([AGENT, "--config", missing, "--once"], capture_output=True, text=True,
                   timeout=60)
check(r.returncode == 78 and missing in r.stderr and "cannot open" in r.stderr,
      "--once with a missing --config file is a configuration error naming it")

# Options before a subcommand apply to it, as in git or systemctl.
trail = work.file("no-trail.jsonl")
hconf = write_config(work, "[history]\ntrail_path = %s\n" % trail, name="history.conf")
r = subprocess.run([AGENT, "--config", hconf, "history"], capture_output=True, text=True,
                   timeout=60)
check(r.returncode == 1 and trail in r.stderr,
      "--config before 'history' is the one it reads (rc %d: %s)" % (r.returncode,
                                                                      r.stderr.strip()))
r = subprocess.run([AGENT, "--config", missing, "speedtest"], capture_output=True, text=True,
                   timeout=60)
check(r.returncode == 78 and missing in r.stderr,
      "--config before 'speedtest' is accepted and read (rc %d)" % r.returncode)
r = subprocess.run([AGENT, "--once", "history"], capture_output=True, text=True, timeout=60)
check(r.returncode == 2, "--once before 'history' is a usage error")
print("PASS")
