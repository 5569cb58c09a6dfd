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

/*
 * On clean exit: removes the pins dir/<name> of the named maps (names ends with NULL)
 * and dir itself when it is empty. The maps were loaded, and pinned, by a loader child
 * (user/lib/bpf_loader.h): the caller holds descriptors, not the libbpf object.
 */
void bpf_pin_remove_names(const char *dir, const char *const *names);

#endif
