#!/bin/sh
# In-kernel time per exec of the exec-history programs, and what each part of them
# costs (ablation). Builds bpf/exec.bpf.c as it is and in variants with parts switched
# off at compile time (-DSRVMON_EXEC_ABLATE=mask, see bpf/exec.bpf.h), loads
# each with bench/exec-kernel-cost.c (a minimal loader: the agent's knobs and 8 MiB
# ring, drained every 50 ms, which is not in the measured time; bpf_stats on through
# BPF_ENABLE_STATS while it runs), and
# runs N sequential fork + execve("/bin/true") from /var/lib/srvmon-bench/a/b (created
# and removed). Variants are interleaved for ROUNDS rounds; the table shows medians of
# run_time_ns / run_cnt: exec_ok (tp_btf/sched_process_exec), exec_exit (the failed-exec
# check at sys_exit_execve, which returns at its first test), and their sum per exec;
# the "timed" builds also give the median of exec_ok's own time over the storm's execs
# only (bit 0x200) or of put_cwd()'s (bit 0x100), which the machine's other work moves
# far less than the means.
# Usage (as root): bench/exec-kernel-cost.sh [N] [ROUNDS]   (default 3000 3)
# Environment: SRVMON_KCOST_BEFORE=REV adds a row for bpf/exec.bpf.c of git revision REV
# (bpf/ and include/ of REV, e.g. the code before a change); SRVMON_KCOST_VARIANTS="0 2 8"
# measures a subset.
# Run it under the shared benchmark lock so that no two benchmarks overlap:
#   flock /tmp/srvmon-bench.lock bench/exec-kernel-cost.sh
set -eu
cd "$(dirname "$0")/.."
N=${1:-3000}
ROUNDS=${2:-3}
VARIANTS=${SRVMON_KCOST_VARIANTS:-0 512 1536 640 514 614 513 128 256 1280 384 2 4 8 16 32 62 102 1}
VMLINUX=vmlinux/$(uname -m)
case "$(uname -m)" in
x86_64) ARCH=x86 ;;
aarch64) ARCH=arm64 ;;
*) echo "exec-kernel-cost: unsupported architecture" >&2; exit 1 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "exec-kernel-cost: run as root (BPF)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/srvmon-kcost.XXXXXX)
CWD=/var/lib/srvmon-bench/a/b
MADE_CWD=
MOUNTED=
cleanup() {
	[ -n "$MADE_CWD" ] && rm -rf /var/lib/srvmon-bench
	[ -n "$MOUNTED" ] && umount /sys/kernel/tracing
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
if [ ! -d /var/lib/srvmon-bench ]; then
	MADE_CWD=1
	mkdir -p "$CWD"
fi
mkdir -p "$CWD"
# The syscall tracepoint programs are attached through tracefs.
if [ ! -d /sys/kernel/tracing/events/syscalls ]; then
	mount -t tracefs tracefs /sys/kernel/tracing
	MOUNTED=1
fi

cc -O2 -Wall -Wextra -Werror -o "$WORK/kcost" bench/exec-kernel-cost.c -lbpf
bpf_build() { # SRC MASK OUT
	clang -g -O2 -Wall -target bpf -D__TARGET_ARCH_$ARCH -I"$VMLINUX" -Iinclude -Ibpf \
		-DSRVMON_EXEC_ABLATE="$2" -c "$1" -o "$3"
}
ROWS=
for m in $VARIANTS; do
	bpf_build bpf/exec.bpf.c "$m" "$WORK/v$m.o"
	ROWS="$ROWS v$m"
done
if [ -n "${SRVMON_KCOST_BEFORE:-}" ]; then
	# its own bpf/ (the program and its .bpf.h) and include/ (the ABI header)
	mkdir "$WORK/before"
	git archive "$SRVMON_KCOST_BEFORE" bpf include | tar -x -C "$WORK/before"
	clang -g -O2 -Wall -target bpf -D__TARGET_ARCH_$ARCH -I"$VMLINUX" \
		-I"$WORK/before/include" -I"$WORK/before/bpf" \
		-c "$WORK/before/bpf/exec.bpf.c" -o "$WORK/before.o"
	ROWS="before $ROWS"
fi

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
	for v in $ROWS; do
		"$WORK/kcost" "$WORK/$v.o" "$N" "$CWD" >"$WORK/$v.$r" ||
			{ echo "exec-kernel-cost: $v failed" >&2; exit 1; }
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

label() {
	case "$1" in
	before) echo "before: bpf/exec.bpf.c of $SRVMON_KCOST_BEFORE" ;;
	v0) echo "**full program (as shipped)**" ;;
	v512) echo "**full program, exec_ok timed**" ;;
	v1536) echo "cwd cache checked through the loaded pointers (one miss after the other), exec_ok timed" ;;
	v640) echo "cwd walked at every exec (no cwd cache), exec_ok timed" ;;
	v514) echo "no cwd, exec_ok timed" ;;
	v614) echo "**minimal tracer (the issue's reference), exec_ok timed**" ;;
	v513) echo "empty, exec_ok timed (the timing's own cost)" ;;
	v1280) echo "cwd cache checked through the loaded pointers, put_cwd() timed" ;;
	v1) echo "empty (exec_ok returns at once)" ;;
	v2) echo "no cwd (neither walk nor cache)" ;;
	v128) echo "cwd walked at every exec (no cwd cache)" ;;
	v256) echo "full program, put_cwd() timed" ;;
	v384) echo "no cwd cache, put_cwd() timed" ;;
	v4) echo "no tty/cgroup name reads" ;;
	v8) echo "no ring-buffer output" ;;
	v16) echo "no argv read" ;;
	v32) echo "no filename read" ;;
	v62) echo "identity only (no cwd, names, output, argv, filename)" ;;
	v102) echo "minimal tracer: pid, time, argv, output (the issue's reference)" ;;
	*) echo "SRVMON_EXEC_ABLATE=${1#v}" ;;
	esac
}
# median FIELD VARIANT: the median over the rounds of the program's ns per run
median() {
	for r in $(seq 1 "$ROUNDS"); do
		awk -v p="$1" '$1 == p { print $NF }' "$WORK/$2.$r"
	done | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# spread VARIANT: the lowest and highest per_exec over the rounds
spread() {
	for r in $(seq 1 "$ROUNDS"); do
		awk '$1 == "per_exec" { print $2 }' "$WORK/$1.$r"
	done | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s\n", lo, hi }'
}
# cwds VARIANT: cwd_cached/cwd_walked over all rounds ("–" for builds without them)
cwds() {
	cat "$WORK/$1".* | awk '$1 == "cwd_cached" { c += $2; n = 1 } $1 == "cwd_walked" { w += $2 }
		END { if (n) printf "%d / %d\n", c, w; else print "–" }'
}
# p50 VARIANT KIND: the median over the rounds of put_cwd()'s median ns for KIND (walk,
# hit) in the timed builds ("–" elsewhere)
p50() {
	for r in $(seq 1 "$ROUNDS"); do
		awk -v k="cwd_$2_p50" '$1 == k && $3 > 0 { print $2 }' "$WORK/$1.$r"
	done | sort -n | awk '{ v[NR] = $1 } END { if (!NR) print "–"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# okp50 VARIANT: the median over the rounds of exec_ok's median ns over the storm's execs
# (timed builds, bit 0x200; "–" elsewhere)
okp50() {
	for r in $(seq 1 "$ROUNDS"); do
		awk '$1 == "exec_ok_p50" && $3 > 0 { print $2 }' "$WORK/$1.$r"
	done | sort -n | awk '{ v[NR] = $1 } END { if (!NR) print "–"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "| variant | exec_ok (ns/run) | exec_exit (ns/run) | per exec (ns) | per exec, lowest–highest round (ns) | cwd cached / walked, all rounds | put_cwd() median, hit / walk (ns) | exec_ok median, storm's execs (ns) | records of the last round |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for v in $ROWS; do
	ok=$(median exec_ok "$v")
	ex=$(median exec_exit "$v")
	per=$(median per_exec "$v")
	rec=$(awk '$1 == "records" { print $2 }' "$WORK/$v.$ROUNDS")
	echo "| $(label "$v") | $ok | $ex | $per | $(spread "$v") | $(cwds "$v") | $(p50 "$v" hit) / $(p50 "$v" walk) | $(okp50 "$v") | $rec |"
done
echo
echo "N = $N sequential fork+execve of /bin/true a round from $CWD, $ROUNDS interleaved rounds, medians of run_time_ns/run_cnt (bpf_stats; every exec of the machine in the window counts); kernel $(uname -r); load average $LOAD0 at the start, $LOAD1 at the end."
