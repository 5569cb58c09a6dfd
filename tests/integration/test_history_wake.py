"""The exec ring is drained on a timer (history.drain_interval) and, when a burst fills
it faster, on the kernel's forced wake-up at a quarter full. Here the timer is slow
(1 s) and the ring small (64 KiB): a burst of 60 execs with ~4 KiB of arguments each
(~250 KiB, four times the ring) within well under a second is only stored completely,
with events_lost 0, if the forced wake-ups are answered. Then a single exec after a
quiet moment still arrives within about one interval.

Only the test's own execs are recorded (history.min_uid: a random uid no account has, the
test's execs run as it), so other work on the machine cannot fill the ring."""
import os
import random
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvmon_testlib import (check, history_agent, served, wait_for)  # noqa: E402

MARK = "srvmon-wake-" + uuid.uuid4().hex[:12]
BURST = 60
# Above every uid a system hands out; random so two runs side by side barely overlap.
UID = random.randrange(3000000000, 4000000000)


def main():
    with served() as (work, server, agents):
        hist = "ringbuf_size = 65536\ndrain_interval = 1s\ntrail = false\nmin_uid = %d\n" % UID
        agent = history_agent(work, server, hist)
        agents.append(agent)
        pad = "w" * 4000
        # One shell forks and execs the burst: no Python between the execs.
        script = 'i=0; while [ $i -lt %d ]; do /bin/true %s "$i" %s; i=$((i+1)); done' % (
            BURST, MARK, pad)
        t0 = time.monotonic()
        subprocess.run(["/bin/sh", "-c", script], user=UID, group=UID, extra_groups=[],
                       check=True)
        burst_s = time.monotonic() - t0

        def mine():
            recs = [r for r in server.records("exec") if len(r["argv"]) == 4 and
                    r["argv"][1] == MARK]
            return recs if len(recs) >= BURST else None

        recs = wait_for(mine, 30, "%d burst records" % BURST)
        got = sorted(int(r["argv"][2]) for r in recs)
        check(got == list(range(BURST)), "every exec of the burst stored once")
        check(all(r["argv"][3] == pad for r in recs), "each with its 4000-byte argument")

        def lost():
            st = [m for m in server.records("status") if "events_lost" in m]
            return st[-1]["events_lost"] if st else None

        check(lost() in (0, None), "no loss (events_lost %r); the burst took %.2f s" %
              (lost(), burst_s))

        time.sleep(1.5)
        t0 = time.monotonic()
        subprocess.run(["/bin/true", MARK, "single"], user=UID, group=UID, extra_groups=[],
                       check=True)
        wait_for(lambda: [r for r in server.records("exec") if r["argv"][1:] ==
                          [MARK, "single"]] or None, 10, "the single exec")
        took = time.monotonic() - t0
        check(took < 3.0, "a lone exec stored within a few intervals (%.2f s)" % took)
        check(agent.stop() == 0, "agent exits 0")
    print("PASS")


if __name__ == "__main__":
    main()
