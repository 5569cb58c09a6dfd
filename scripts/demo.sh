#!/bin/sh
# The README's main job: a live demo on this machine. Installs what is missing,
# builds, starts srvmon-server on 127.0.0.1 with a fresh SQLite database, a
# demo agent account and a viewer account for the dashboard, starts srvmon-agent
# against it, prints the dashboard's login-ready link and shows each record as
# it is stored. Ctrl-C stops both and prints where the database is.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target srvmon-agent srvmon-server >/dev/null

AGENT="$BUILD/user/srvmon-agent"
SERVER="$BUILD/server/srvmon-server"
WORK=$(mktemp -d /tmp/srvmon-demo.XXXXXX)
DB="$WORK/srvmon.db"
PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
VIEWER_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
SERVER_PID=
AGENT_PID=

stop() {
	trap - INT TERM EXIT
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	echo
	echo "stopped. database: $DB"
	echo "  $SERVER query --db $DB -n 20"
	echo "logs: $WORK/server.log $WORK/agent.log"
	exit 0
}
trap stop INT TERM EXIT

printf '%s\n' "$PASSWORD" | "$SERVER" user add demo --db "$DB" >/dev/null
printf '%s\n' "$VIEWER_PASSWORD" | "$SERVER" user add viewer --role viewer --db "$DB" >/dev/null
"$SERVER" serve --db "$DB" --listen 127.0.0.1 --port "${SRVMON_DEMO_PORT:-0}" --print-records \
	2>"$WORK/server.log" &
SERVER_PID=$!

PORT=
for _ in $(seq 1 100); do
	PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$WORK/server.log")
	[ -n "$PORT" ] && break
	kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
	sleep 0.1
done
[ -n "$PORT" ] || { echo "srvmon-server did not start:"; cat "$WORK/server.log"; exit 1; }

umask 077
cat >"$WORK/agent.conf" <<CONF
[server]
server_address = 127.0.0.1
server_port = $PORT
client_id = demo
password = $PASSWORD

[agent]
state_dir = $WORK/state
status_interval = 30s

[resources]
interval = 5s

[network]
interval = 2s

# One speed test right after start (then every 6 h as by default), capped small: the
# newcomer sees a speedtest line within seconds.
[speedtest]
first_delay = 0s
first_jitter = 0s
max_megabytes = 20
max_duration = 2s
CONF

"$AGENT" --config "$WORK/agent.conf" 2>"$WORK/agent.log" &
AGENT_PID=$!

# A viewer token for a link that opens the dashboard already signed in (valid 1 h;
# the token stays in the page's memory, the fragment never reaches a server log).
TOKEN=$(python3 - "$PORT" "$VIEWER_PASSWORD" <<'PY' || true
import json, sys, urllib.parse, urllib.request
body = urllib.parse.urlencode({"grant_type": "password", "username": "viewer",
                               "password": sys.argv[2]}).encode()
req = urllib.request.Request("http://127.0.0.1:%s/token" % sys.argv[1], data=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
print(json.loads(urllib.request.urlopen(req, timeout=10).read())["access_token"])
PY
)
echo "srvmon-server on http://127.0.0.1:$PORT, database $DB"
echo
echo "Dashboard (this machine appears within a few seconds):"
[ -n "$TOKEN" ] && echo "  http://127.0.0.1:$PORT/#token=$TOKEN"
echo "  or http://127.0.0.1:$PORT/ and sign in as viewer / $VIEWER_PASSWORD"
echo
echo "srvmon-agent running (log $WORK/agent.log); records as they are stored, Ctrl-C to stop:"
wait "$SERVER_PID"
