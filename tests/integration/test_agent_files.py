"""The root agent never writes through a planted symbolic link nor into a directory
others can write (user/lib/safedir.c): a link at state_dir/seq.tmp and at the trail path,
and a spool directory of mode 0777, are refused with an error naming the path; what the
links point to is left untouched, and the agent runs on (seq from the clock, no trail,
records in memory) and ships its records."""
import os
import random

from srvmon_testlib import Agent, agent_config, check, served, wait_for, write_config

TEXT = "root must not write here\n"
UID = random.randrange(3000000000, 4000000000)  # records no exec of the machine

with served() as (work, server, agents):
    state = work.file("state")
    logdir = work.file("log")
    spool = work.file("shared-spool")
    os.makedirs(state, mode=0o700)
    os.makedirs(logdir, mode=0o700)
    os.makedirs(spool)
    os.chmod(spool, 0o777)
    targets = {}
    for link in (os.path.join(state, "seq.tmp"), os.path.join(logdir, "exec.jsonl")):
        target = link + ".target"
        with open(target, "w") as f:
            f.write(TEXT)
        os.symlink(target, link)
        targets[link] = target

    history = "min_uid = %d\ntrail_path = %s\n" % (UID, os.path.join(logdir, "exec.jsonl"))
    extra = "\n[spool]\ndir = %s\n" % spool
    agent = Agent(work, write_config(work, agent_config(server, history=history, extra=extra)))
    agent.start()
    agents.append(agent)
    wait_for(lambda: len(server.records("resources")) >= 2, 30, "resources records")
    st = wait_for(lambda: [s for s in server.records("status")
                           if s["modules"].get("history", {}).get("state") == "running"], 30,
                  "the history module running without its trail")
    log = agent.read_log()
    for link, target in targets.items():
        check("'%s' is a symbolic link" % link in log, "refused, naming the path: %s" % link)
        check(os.path.islink(link), "the link at %s left as it is" % link)
        with open(target) as f:
            check(f.read() == TEXT, "its target %s untouched" % target)
    check("'%s' is writable by group or others (mode 0777)" % spool in log,
          "the 0777 spool directory refused, naming the path")
    check(os.listdir(spool) == [], "nothing written into it")
    check(not os.path.exists(os.path.join(state, "seq")), "no seq file written")
    seqs = [r["seq"] for r in server.records()]
    check(seqs[0] > 10 ** 15, "records numbered from the clock (no reservation on disk, so "
          "numbers from 1 could come again after a restart): %d..%d" % (seqs[0], seqs[-1]))
    check(agent.alive(), "agent alive")
    check(agent.stop() == 0, "clean exit")
print("PASS")
