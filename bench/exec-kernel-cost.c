// SPDX-License-Identifier: GPL-2.0
/* In-kernel cost of the exec programs: loads one build of bpf/exec.bpf.c (an object file,
 * e.g. an ablation variant), attaches every program, turns bpf_stats on (BPF_ENABLE_STATS,
 * off again when this process exits), drains the ring buffer every 50 ms (the drain is
 * not in the measured kernel time), runs COUNT sequential fork + execve("/bin/true",
 * {"/bin/true", "srvmon-kcost"}) from the directory CWD, and prints one line per program:
 *   PROGRAM RUNS NS_PER_RUN
 * then "records N" (ring-buffer records received), "cwd_cached N" and "cwd_walked N" (the
 * kernel's counters of cwds taken from its cache or walked, when the build has them), the
 * medians of put_cwd()'s own time for walks and hits (builds with SRVMON_EXEC_ABLATE
 * bit 0x100 only, see print_hist()), the median of exec_ok's own time for the exec
 * loop's execs (bit 0x200), and
 * "per_exec NS": the sum over the
 * programs of their ns per run (every exec runs each program once: exec_ok at
 * sched_process_exec, exec_exit at sys_exit_execve). Programs run for every exec of the
 * machine, not only the storm's; the averages are over all of them.
 * Usage: exec-kernel-cost OBJ COUNT CWD [RING_BYTES]   (default 8 MiB, the agent's default)
 * Build: cc -O2 -o exec-kernel-cost bench/exec-kernel-cost.c -lbpf (the script does it).
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PROGS 8
#define RING_SIZE (8u << 20) /* history.ringbuf_size's default */

extern char **environ;

static unsigned long records;

static int on_sample(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	records++;
	return 0;
}

static int prog_stats(int fd, unsigned long long *ret_ns, unsigned long long *ret_cnt)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	*ret_ns = info.run_time_ns;
	*ret_cnt = info.run_cnt;
	return 0;
}

/* Sets the 64-bit knob NAME of .rodata before load, as user/modules/history/bpf_exec.c does through
 * the skeleton; a knob the object does not have is skipped (older builds). */
static void set_knob(struct bpf_object *obj, const char *name, __u64 value)
{
	struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map;
	const struct btf_type *sec;
	const struct btf_var_secinfo *vi;
	size_t size = 0;
	char *data;
	__s32 id;

	bpf_object__for_each_map(map, obj)
	{
		const char *n = bpf_map__name(map);
		size_t len = strlen(n);

		if (len >= 7 && strcmp(n + len - 7, ".rodata") == 0)
			break;
	}
	if (!btf || !map)
		return;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	data = (char *)bpf_map__initial_value(map, &size);
	if (id < 0 || !data)
		return;
	sec = btf__type_by_id(btf, (__u32)id);
	vi = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vi++) {
		const struct btf_type *var = btf__type_by_id(btf, vi->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name) == 0 &&
		    vi->size == sizeof(value) && vi->offset + sizeof(value) <= size)
			memcpy(data + vi->offset, &value, sizeof(value));
	}
}

/* The cwd_cached and cwd_walked counters of exec_stats (struct srvmon_exec_stats: u64
 * fields 5 and 6), summed over the CPUs; builds without them print nothing. */
static void print_cwd_stats(struct bpf_object *obj)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "exec_stats");
	int ncpus = libbpf_num_possible_cpus();
	unsigned long long cached = 0, walked = 0;
	size_t vsize, words;
	__u64 *v;
	__u32 zero = 0;

	if (!map || ncpus <= 0)
		return;
	vsize = (bpf_map__value_size(map) + 7) / 8 * 8;
	words = vsize / 8;
	if (words < 7)
		return;
	v = calloc((size_t)ncpus, vsize);
	if (!v)
		return;
	if (bpf_map_lookup_elem(bpf_map__fd(map), &zero, v) == 0) {
		for (int cpu = 0; cpu < ncpus; cpu++) {
			cached += v[(size_t)cpu * words + 5];
			walked += v[(size_t)cpu * words + 6];
		}
		printf("cwd_cached %llu\ncwd_walked %llu\n", cached, walked);
	}
	free(v);
}

/* The median of the 25 ns buckets [first, first + n) of the per-CPU histogram map fd
 * (bucket k counts runs of k * 25 to k * 25 + 24 ns), in ns; *ret_total: the runs. */
static int hist_p50(int fd, __u32 first, __u32 n, unsigned long long *ret_total)
{
	int ncpus = libbpf_num_possible_cpus();
	unsigned long long cnt[512] = {0}, total = 0, acc = 0;
	int p50 = -1;
	__u64 *v;

	*ret_total = 0;
	if (ncpus <= 0 || n > 512)
		return 0;
	v = calloc((size_t)ncpus, sizeof(*v));
	if (!v)
		return 0;
	for (__u32 k = 0; k < n; k++) {
		__u32 key = first + k;

		if (bpf_map_lookup_elem(fd, &key, v) < 0)
			continue;
		for (int cpu = 0; cpu < ncpus; cpu++)
			cnt[k] += v[cpu];
		total += cnt[k];
	}
	free(v);
	for (__u32 k = 0; k < n && p50 < 0; k++) {
		acc += cnt[k];
		if (total && acc * 2 >= total)
			p50 = (int)k;
	}
	*ret_total = total;
	return p50 < 0 ? 0 : p50 * 25 + 12;
}

/* "LABEL NS N": the median and count of buckets [first, first + n) of the histogram map
 * name, if the build has it. Builds with SRVMON_EXEC_ABLATE & 0x100 time put_cwd() into
 * cwd_hist (0-127 walks, 128-255 cache hits), with 0x200 exec_ok into exec_hist (only the
 * execs of the exec loop). */
static void print_hist(struct bpf_object *obj, const char *name, const char *label, __u32 first,
		       __u32 n)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	unsigned long long runs;
	int ns;

	if (!map)
		return;
	ns = hist_p50(bpf_map__fd(map), first, n, &runs);
	printf("%s %d %llu\n", label, ns, runs);
}

/* COUNT sequential fork + execve from the current directory; 0 or -errno. */
static int run_execs(unsigned long count)
{
	char path[] = "/bin/true";
	char arg[] = "srvmon-kcost";
	char *const argv[] = {path, arg, NULL};

	for (unsigned long i = 0; i < count; i++) {
		int status = 0;
		pid_t pid = fork();

		if (pid < 0)
			return -errno;
		if (pid == 0) {
			execve(argv[0], argv, environ);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0)
			return -errno;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return -ECHILD;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	struct bpf_link *links[MAX_PROGS] = {0};
	struct bpf_program *progs[MAX_PROGS] = {0};
	unsigned long long ns0[MAX_PROGS], cnt0[MAX_PROGS];
	struct ring_buffer *rb = NULL;
	struct bpf_map *map;
	unsigned long count, ring = RING_SIZE;
	double per_exec = 0;
	int nprogs = 0, stats_fd = -1, status = 0, ret = 1;
	int go[2] = {-1, -1};
	pid_t child;
	char *end = NULL;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s OBJ COUNT CWD [RING_BYTES]\n", argv[0]);
		return 2;
	}
	count = strtoul(argv[2], &end, 10);
	if (!end || *end || count == 0) {
		fprintf(stderr, "exec-kernel-cost: bad COUNT %s\n", argv[2]);
		return 2;
	}
	if (argc == 5) {
		ring = strtoul(argv[4], &end, 10);
		if (!end || *end || ring < 4096 || (ring & (ring - 1)) || ring > (1ul << 30)) {
			fprintf(stderr, "exec-kernel-cost: RING_BYTES must be a power of 2\n");
			return 2;
		}
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "exec-kernel-cost: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	map = bpf_object__find_map_by_name(obj, "scratch");
	if (map && bpf_map__set_max_entries(map, (__u32)libbpf_num_possible_cpus()) < 0)
		goto out;
	map = bpf_object__find_map_by_name(obj, "events");
	if (!map || bpf_map__set_max_entries(map, (__u32)ring) < 0)
		goto out;
	/* The agent's settings for its default ring (user/modules/history/bpf_exec.c). */
	set_knob(obj, "wake_bytes", ring / 4);
	set_knob(obj, "query_bytes", ring / 4 / 2 / (__u64)libbpf_num_possible_cpus());
	if (bpf_object__load(obj) < 0) {
		fprintf(stderr, "exec-kernel-cost: load: %s\n", strerror(errno));
		goto out;
	}
	bpf_object__for_each_program(prog, obj)
	{
		if (nprogs == MAX_PROGS)
			break;
		links[nprogs] = bpf_program__attach(prog);
		if (!links[nprogs]) {
			fprintf(stderr, "exec-kernel-cost: attach %s: %s\n",
				bpf_program__name(prog), strerror(errno));
			goto out;
		}
		progs[nprogs++] = prog;
	}
	rb = ring_buffer__new(bpf_map__fd(map), on_sample, NULL, NULL);
	if (!rb)
		goto out;
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "exec-kernel-cost: BPF_ENABLE_STATS: %s\n", strerror(errno));
		goto out;
	}
	for (int i = 0; i < nprogs; i++)
		if (prog_stats(bpf_program__fd(progs[i]), &ns0[i], &cnt0[i]) < 0)
			goto out;
	if (pipe2(go, O_CLOEXEC) < 0)
		goto out;
	child = fork();
	if (child < 0)
		goto out;
	if (child == 0) {
		char c;

		/* Starts when the parent has told the timed builds whose execs to time. */
		close(go[1]);
		if (read(go[0], &c, 1) != 1 || chdir(argv[3]) < 0)
			_exit(126);
		_exit(run_execs(count) < 0 ? 1 : 0);
	}
	close(go[0]);
	map = bpf_object__find_map_by_name(obj, "timed_ppid");
	if (map) {
		__u64 pid = (__u64)child;
		__u32 zero = 0;

		if (bpf_map_update_elem(bpf_map__fd(map), &zero, &pid, BPF_ANY) < 0)
			goto out;
	}
	if (write(go[1], "g", 1) != 1)
		goto out;
	close(go[1]);
	go[1] = -1;
	for (;;) {
		pid_t w;

		ring_buffer__poll(rb, 50);
		w = waitpid(child, &status, WNOHANG);
		if (w == child)
			break;
		if (w < 0)
			goto out;
	}
	ring_buffer__consume(rb);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "exec-kernel-cost: the exec loop failed (status %d)\n", status);
		goto out;
	}
	for (int i = 0; i < nprogs; i++) {
		unsigned long long ns, cnt;
		double avg;

		if (prog_stats(bpf_program__fd(progs[i]), &ns, &cnt) < 0)
			goto out;
		cnt -= cnt0[i];
		ns -= ns0[i];
		avg = cnt ? (double)ns / (double)cnt : 0;
		/* execveat's program does not run for an execve: not part of its cost. */
		if (strcmp(bpf_program__name(progs[i]), "execat_exit") != 0)
			per_exec += avg;
		printf("%s %llu %.1f\n", bpf_program__name(progs[i]), cnt, avg);
	}
	printf("records %lu\n", records);
	print_cwd_stats(obj);
	print_hist(obj, "cwd_hist", "cwd_walk_p50", 0, 128);
	print_hist(obj, "cwd_hist", "cwd_hit_p50", 128, 128);
	print_hist(obj, "exec_hist", "exec_ok_p50", 0, 512);
	printf("per_exec %.1f\n", per_exec);
	ret = 0;
out:
	if (go[1] >= 0)
		close(go[1]);
	if (stats_fd >= 0)
		close(stats_fd);
	ring_buffer__free(rb);
	for (int i = 0; i < nprogs; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	return ret;
}
