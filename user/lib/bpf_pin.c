/* Map pins under bpffs: stale ones replaced on start, all removed on clean exit. */
#include "bpf_pin.h"

#include "log.h"

#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC;
}

/* mkdir -p for the part of dir below an existing directory; mode 0700. */
static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The default bpffs is not mounted at boot everywhere (containers, minimal systems). */
static int bpffs_ensure(const char *dir)
{
	size_t n = strlen(BPF_PIN_FS_ROOT);

	if (strncmp(dir, BPF_PIN_FS_ROOT, n) != 0 || (dir[n] != '/' && dir[n] != '\0'))
		return 0;
	if (is_bpffs(BPF_PIN_FS_ROOT))
		return 0;
	if (mount("bpf", BPF_PIN_FS_ROOT, "bpf", 0, "mode=0700") < 0)
		return -errno;
	log_info("mounted bpffs on '%s' for the map pins", BPF_PIN_FS_ROOT);
	return 0;
}

int bpf_pin_maps(struct bpf_object *obj, const char *dir, const char *const *names)
{
	char path[PATH_MAX];
	int r;

	if (!dir || !*dir)
		return 0;
	r = bpffs_ensure(dir);
	if (r < 0)
		return r;
	r = mkdir_p(dir);
	if (r < 0)
		return r;
	if (!is_bpffs(dir))
		return -ENOTSUP;
	for (const char *const *name = names; *name; name++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, *name);

		r = -ENOENT;
		if (!map)
			goto fail;
		r = -ENAMETOOLONG;
		if (snprintf(path, sizeof(path), "%s/%s", dir, *name) >= (int)sizeof(path))
			goto fail;
		/* A pin left by a crashed run: libbpf would reuse its map (and old counts). */
		if (unlink(path) == 0) {
			log_info("replaced the stale BPF map pin '%s'", path);
		} else if (errno != ENOENT) {
			r = -errno;
			goto fail;
		}
		r = bpf_map__set_pin_path(map, path);
		if (r < 0)
			goto fail;
	}
	return 0;

fail:
	/* All or nothing: no map is pinned on load. */
	for (const char *const *name = names; *name; name++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, *name);

		if (map)
			bpf_map__set_pin_path(map, NULL);
	}
	return r;
}

void bpf_pin_remove_names(const char *dir, const char *const *names)
{
	char path[PATH_MAX];

	if (!dir || !*dir)
		return;
	for (const char *const *name = names; *name; name++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, *name) >= (int)sizeof(path))
			continue;
		if (unlink(path) < 0 && errno != ENOENT)
			log_debug("cannot remove the BPF map pin '%s': %s", path, strerror(errno));
	}
	/* Another module's pins may still live there: then it stays. */
	if (rmdir(dir) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
		log_debug("cannot remove '%s': %s", dir, strerror(errno));
}
