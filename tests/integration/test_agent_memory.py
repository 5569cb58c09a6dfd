"""The agent's start leaves no memory peak: libbpf's parse of the kernel BTF (CO-RE
relocations, tp_btf attach) happens in a short-lived loader child that hands the BPF
descriptors back (user/lib/bpf_loader.c), so the agent's own peak RSS (VmHWM) stays
close to its RSS once both BPF modules run. Done in the agent itself, that parse is a
peak of at least the BTF's size above the steady RSS (23.6 MiB peak for 13.3 MiB RSS,
docs/BENCHMARKS.md), which this test would see.

Robust against other work on the machine: only the agent's own /proc figures are read,
once both modules run; the history records only a uid nobody has (filtered in the kernel),
so other execs do not fill its ring buffer, and the margin is half the BTF's size. The ring
is the smallest allowed: its pages are mapped twice into the agent at start (2 x 8 MiB by
default), which would lift the steady RSS above a BTF peak and hide it."""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvmon_testlib import (Agent, agent_config, check, served, wait_for,  # noqa: E402
                            write_config)

BTF = "/sys/kernel/btf/vmlinux"
UID = random.randrange(3000000000, 4000000000)


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (key, pid))


def children(pid):
    """PIDs whose parent is pid (a loader child not reaped would be one, as a zombie)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(name))
    return found


def main():
    btf_kib = os.path.getsize(BTF) // 1024
    with served() as (work, server, agents):
        text = agent_config(server, extra="collector = bpf\n",
                            history="trail = false\nmin_uid = %d\nringbuf_size = 65536\n" % UID)
        agent = Agent(work, write_config(work, text)).start()
        agents.append(agent)
        wait_for(lambda: server.records("network"), 30, "network records (BPF attached)")
        wait_for(lambda: any(m.get("modules", {}).get("history", {}).get("state") == "running"
                             for m in server.records("status")), 30, "history module running")
        pid = agent.proc.pid
        hwm = status_kib(pid, "VmHWM")
        rss = status_kib(pid, "VmRSS")
        print("VmHWM %d KiB, VmRSS %d KiB, kernel BTF %d KiB" % (hwm, rss, btf_kib))
        check(hwm - rss < btf_kib // 2,
              "peak RSS since start (%d KiB) within %d KiB (half the kernel BTF) of the RSS "
              "with both BPF modules running (%d KiB)" % (hwm, btf_kib // 2, rss))
        check(children(pid) == [], "the loader children are gone (reaped): %s" % children(pid))
        check("loader child" not in agent.read_log(), "no loader failure in the log")
    print("ok")


if __name__ == "__main__":
    main()
