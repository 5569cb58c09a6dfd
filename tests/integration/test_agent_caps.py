"""The agent runs with exactly the capabilities its systemd units leave it: started under
setpriv with the units' CapabilityBoundingSet (parsed from systemd/srvmon-agent.service,
so this test follows the unit), no inheritable or ambient capabilities and no_new_privs,
the history (BPF, pinned maps), network (BPF collector, pinned maps) and resources
modules all run and their records arrive. No systemd as PID 1 here, so setpriv stands
in for the unit's sandbox; only the capability part is reproduced."""
import os
import random
import re
import shutil
import subprocess
import sys
import uuid

from srvmon_testlib import Agent, agent_config, check, served, wait_for, write_config

SRC = os.environ.get("SRVMON_SOURCE_DIR", os.path.abspath(os.path.join(__file__, "../../..")))
UNITS = ("srvmon-agent.service", "srvmon-agent@.service")
PIN = "/sys/fs/bpf/srvmon-test-caps-%d" % os.getpid()
MARK = "srvmon-caps-" + uuid.uuid4().hex[:12]
UID = random.randrange(3000000000, 4000000000)  # only the test's own exec is recorded

if not shutil.which("setpriv"):
    print("SKIP: setpriv (util-linux) not installed")
    sys.exit(0)


def unit_setting(unit, key):
    """The value of the last key= line of unit's [Service] section (systemd: the last one
    wins for these settings; an empty assignment resets)."""
    value = None
    with open(os.path.join(SRC, "systemd", unit)) as f:
        for line in f:
            m = re.match(r"\s*%s=(.*)$" % re.escape(key), line)
            if m:
                value = m.group(1).strip()
    return value


def cap_numbers():
    """CAP_NAME -> number, from setpriv's own list (its order is the kernel's)."""
    r = subprocess.run(["setpriv", "--list-caps"], capture_output=True, text=True, check=True)
    return {"CAP_" + n.strip().upper(): i for i, n in enumerate(r.stdout.split())}


def proc_caps(pid):
    caps = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Cap"):
                k, v = line.split(":")
                caps[k] = int(v, 16)
    return caps


def cleanup_pins():
    if os.path.isdir(PIN):
        for name in os.listdir(PIN):
            os.unlink(os.path.join(PIN, name))
        os.rmdir(PIN)


sets = {u: unit_setting(u, "CapabilityBoundingSet") for u in UNITS}
check(len(set(sets.values())) == 1 and sets[UNITS[0]],
      "both agent units name the same CapabilityBoundingSet: %s" % sets)
names = sets[UNITS[0]].split()
check(all(unit_setting(u, "AmbientCapabilities") == "" for u in UNITS),
      "the units give no ambient capabilities")
numbers = cap_numbers()
check(all(n in numbers for n in names), "setpriv knows every capability of the unit: %s" % names)
want = sum(1 << numbers[n] for n in names)
# What this machine can give at all: a capability already missing from the test's own
# bounding set cannot be added back (here CAP_SYS_RESOURCE may be missing).
have = proc_caps(os.getpid())["CapBnd"]
expect = want & have
prefix = ["setpriv", "--bounding-set=-all," + ",".join("+" + n[4:].lower() for n in names),
          "--inh-caps=-all", "--ambient-caps=-all", "--no-new-privs"]

try:
    with served() as (work, server, agents):
        history = "min_uid = %d\ntrail_path = %s\n" % (UID, work.file("log/exec.jsonl"))
        extra = "collector = bpf\n"  # lands in the [network] section agent_config ends with
        conf = agent_config(server, history=history, extra=extra)
        conf = conf.replace("bpf_pin_dir =\n", "bpf_pin_dir = %s\n" % PIN)
        agent = Agent(work, write_config(work, conf), prefix=prefix).start()
        agents.append(agent)
        wait_for(lambda: os.path.exists("/proc/%d/status" % agent.proc.pid) and
                 os.readlink("/proc/%d/exe" % agent.proc.pid).endswith("srvmon-agent"), 10,
                 "setpriv to exec the agent")
        caps = proc_caps(agent.proc.pid)
        check(caps["CapBnd"] == expect and caps["CapEff"] == expect and caps["CapPrm"] == expect,
              "the agent runs with the unit's bounding set, and nothing else effective "
              "(CapBnd %x CapEff %x, want %x)" % (caps["CapBnd"], caps["CapEff"], expect))
        check(caps["CapInh"] == 0 and caps.get("CapAmb", 0) == 0, "no inheritable or ambient caps")

        def running():
            for st in reversed(server.records("status")):
                mods = st.get("modules", {})
                if all(mods.get(m, {}).get("state") == "running"
                       for m in ("history", "network", "resources")):
                    return st
            return None

        st = wait_for(running, 30, "history, network and resources running")
        check(True, "status: %s" % {m: v.get("state") for m, v in st["modules"].items()})
        hello = wait_for(lambda: server.records("hello"), 10, "a hello")[-1]
        check(hello.get("collector") == "bpf", "network counts with the BPF collector: %s"
              % hello.get("collector"))
        wait_for(lambda: server.records("network") and server.records("resources"), 15,
                 "network and resources records")
        check(os.path.isdir(PIN) and {"if_counters", "exec_stats"} <= set(os.listdir(PIN)),
              "maps pinned under %s: %s" % (PIN, os.listdir(PIN) if os.path.isdir(PIN) else None))
        subprocess.run(["/bin/true", MARK], user=UID, group=UID, extra_groups=[], check=True)
        rec = wait_for(lambda: [r for r in server.records("exec") if MARK in str(r.get("argv"))],
                       10, "the exec record (history through BPF)")[0]
        check(rec["uid"] == UID, "the exec of uid %d recorded" % UID)
        check(os.path.exists(work.file("log/exec.jsonl")), "the trail written")
        check(agent.alive(), "agent alive")
        log = agent.read_log()
        check("Operation not permitted" not in log, "no EPERM in the agent's log")
        check(agent.stop() == 0, "clean exit")
finally:
    cleanup_pins()
print("PASS")
