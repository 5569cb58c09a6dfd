/* Pinning BPF maps under bpffs so that bpftool can inspect them by path. */
#ifndef SRVMON_BPF_PIN_H
#define SRVMON_BPF_PIN_H

#include <bpf/libbpf.h>

#define BPF_PIN_FS_ROOT "/sys/fs/bpf"

/*
 * Before load: prepares dir (absolute, under a bpffs; bpffs is mounted on /sys/fs/bpf
 * when that is not one yet), removes a stale pin of each named map left by a crashed
 * run, and sets the maps' pin paths to dir/<map name>; libbpf pins them on load.
 * names ends with NULL. dir NULL or "": nothing is pinned, returns 0. Returns 0 or
 * -errno (nothing is pinned then; the caller may go on without pins).
 */
int bpf_pin_maps(struct bpf_object *obj, const char *dir, const char *const *names);

/* On clean exit: removes the pins of obj's maps and dir itself when it is empty. */
void bpf_pin_remove(struct bpf_object *obj);

#endif
