"""bpftool on the agent's pinned maps: per-interface counters and the exec and network
loss counters, all with field names; a stale pin from a crashed run is replaced; pins go
on a clean exit."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

from srvmon_testlib import (Agent, agent_config, check, fail, served, wait_for,
                            write_config)

if not shutil.which("bpftool"):
    print("SKIP: bpftool not installed")
    sys.exit(0)

PIN = "/sys/fs/bpf/srvmon-test-%d" % os.getpid()


def bpftool(*args):
    r = subprocess.run(["bpftool", "-j"] + list(args), capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def cleanup():
    if os.path.isdir(PIN):
        for name in os.listdir(PIN):
            os.unlink(os.path.join(PIN, name))
        os.rmdir(PIN)


try:
    with served() as (work, server, agents):
        # A stale pin from a "crashed run", of a map that is not the agent's.
        os.makedirs(PIN, mode=0o700)
        r = subprocess.run(["bpftool", "map", "create", PIN + "/if_counters", "type", "array",
                            "key", "4", "value", "4", "entries", "1", "name", "stale"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "stale pin created: %s" % r.stderr.strip())
        # The trail stays off: the default path is the machine's /var/log/srvmon.
        text = agent_config(server, extra="collector = bpf\n",
                            history="filter = all\ntrail = false\n")
        text = text.replace("bpf_pin_dir =\n", "bpf_pin_dir = %s\n" % PIN)
        check(PIN in text, "config sets bpf_pin_dir")
        agent = Agent(work, write_config(work, text), args=["--verbose"]).start()
        agents.append(agent)
        wait_for(lambda: server.records("network"), 30, "network records (BPF attached)")
        check("replaced the stale BPF map pin '%s/if_counters'" % PIN in agent.read_log(),
              "the stale pin is reported as replaced")
        show = bpftool("map", "show", "pinned", PIN + "/if_counters")
        check(show and show["name"] == "if_counters" and show["type"] == "percpu_hash",
              "the pin is the agent's if_counters map now: %s" % (show and show["name"]))

        lo = socket.if_nametoindex("lo")

        def lo_entry():
            dump = bpftool("map", "dump", "pinned", PIN + "/if_counters") or []
            for e in dump:
                f = e.get("formatted", {})
                if f.get("key", {}).get("ifindex") == lo:
                    return f
            return None

        # The agent's own WebSocket runs over lo: its counters fill in.
        f = wait_for(lo_entry, 20, "an if_counters entry for lo (ifindex %d)" % lo)
        value = f["values"][0]["value"]
        check(set(value) == {"rx_bytes", "rx_packets", "tx_bytes", "tx_packets"},
              "bpftool prints the counter field names: %s" % sorted(value))
        check("netns_ino" in f["key"], "the key shows ifindex and netns_ino")
        check(sum(v["value"]["tx_bytes"] for v in f["values"]) > 0, "lo has transmitted bytes")
        check(os.path.exists(PIN + "/net_stats") and os.path.exists(PIN + "/if_peaks"),
              "net_stats and if_peaks are pinned too")

        def stats_entry(name):
            """The formatted single entry (key 0) of a named-counter map, or None."""
            dump = bpftool("map", "dump", "pinned", PIN + "/" + name) or []
            if len(dump) != 1:
                return None
            f = dump[0].get("formatted", {})
            return f if f.get("key") == 0 and f.get("values") else None

        def exec_stats():
            subprocess.run(["true"], check=True)
            f = stats_entry("exec_stats")
            return f if f and sum(v["value"].get("emitted", 0) for v in f["values"]) > 0 else None

        f = wait_for(exec_stats, 20, "exec_stats with emitted > 0")
        fields = {"ringbuf_full", "argv_truncated", "filtered", "emitted", "read_fault",
                  "cwd_cached", "cwd_walked"}
        for v in f["values"]:
            check(set(v["value"]) == fields,
                  "bpftool prints the exec_stats field names: %s" % sorted(v["value"]))
        check(all("cpu" in v for v in f["values"]), "exec_stats has per-CPU values")
        lost = sum(v["value"]["ringbuf_full"] for v in f["values"])
        check(lost >= 0, "exec records lost in the kernel: %d" % lost)

        f = stats_entry("net_stats")
        check(f is not None, "net_stats is one entry, key 0")
        for v in f["values"]:
            check(set(v["value"]) == {"if_map_full", "peak_map_full"},
                  "bpftool prints the net_stats field names: %s" % sorted(v["value"]))
        check(sum(v["value"]["if_map_full"] for v in f["values"]) == 0,
              "no interface was refused a counter slot")

        check(agent.stop() == 0, "agent exits 0 on SIGTERM")
        check(not os.path.exists(PIN), "pins and their directory removed on a clean exit")
finally:
    cleanup()
