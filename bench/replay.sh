#!/bin/sh
# Replay speed: a spool of MIB MiB (default 248, just under the 256 MiB default cap) is written
# in the agent's on-disk format (user/delivery/spool.c: 16-byte header {len, CRC-32 of seq then text
# (the agent writes CRC-32C where the CPU has it, and reads either), seq}, segments of max_size/8), then srvmon-agent starts against srvmon-server on 127.0.0.1
# and the time until every spooled record is in the database gives records/s.
# Usage (as root, after a build): bench/replay.sh [BUILD_DIR] [MIB]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
export SRVMON_AGENT=$build/user/srvmon-agent SRVMON_SERVER=$build/server/srvmon-server
export REPLAY_MIB=${2:-248}
export PYTHONPATH=$src/tests/integration PYTHONDONTWRITEBYTECODE=1
exec python3 -u - <<'PY'
import json
import os
import sqlite3
import struct
import time
import zlib

from srvmon_testlib import Agent, Server, Workdir, agent_config, machine_id, write_config

mib = int(os.environ["REPLAY_MIB"])
seg_max = 32 * 1024 * 1024  # max_size 256 MiB / 8
work = Workdir("srvmon-replay-")
state = work.file("state")
spool = os.path.join(state, "spool")
os.makedirs(spool)
host = machine_id()
pad = "x" * 200
seq = 0
total = 0
t0 = time.monotonic()
while total < mib * 1024 * 1024:
    first = seq + 1
    chunks = []
    size = 0
    while size < seg_max and total + size < mib * 1024 * 1024:
        seq += 1
        text = json.dumps({"type": "status", "ts": 1700000000000 + seq, "host_id": host,
                           "seq": seq, "pad": pad}, separators=(",", ":")).encode()
        le = struct.pack("<Q", seq)
        crc = zlib.crc32(text, zlib.crc32(le))
        chunks.append(struct.pack("<IIQ", len(text), crc, seq) + text)
        size += 16 + len(text)
    with open(os.path.join(spool, "%020d.seg" % first), "wb") as f:
        f.write(b"".join(chunks))
    total += size
with open(os.path.join(state, "seq"), "w") as f:
    f.write("%d\n" % (seq + 1024))
print("replay: spool of %.1f MiB, %d records written in %.1fs"
      % (total / 1048576, seq, time.monotonic() - t0))

# --quota 0: a replay as fast as the server takes it, not paced by the per-account quota.
server = Server(work, extra=["--quota", "0"])
server.add_user("agent1", "s3cret-pass")
server.start()
agent = Agent(work, write_config(work, agent_config(server))).start()
t0 = time.monotonic()


def stored():
    con = sqlite3.connect("file:%s?mode=ro" % server.db, uri=True, timeout=10)
    try:
        return con.execute("SELECT count(*) FROM records WHERE seq <= ?",
                           ("%020d" % seq,)).fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


n = 0
while n < seq:
    time.sleep(1)
    n = stored()
    if time.monotonic() - t0 > 3600:
        break
dt = time.monotonic() - t0
agent.stop()
server.stop()
print("replay: %d of %d spooled records stored in %.1fs: %.0f records/s, %.2f MiB/s"
      % (n, seq, dt, n / dt, total / 1048576 / dt))
raise SystemExit(0 if n == seq else 1)
PY
