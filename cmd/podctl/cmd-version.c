/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podctl version: what was built, from which commit, and what this host
 * supports, probed now (a binary built on one kernel runs on another). */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "commit.h" /* build/commit.h: PODCTL_GIT_COMMIT */
#include "paths.h"  /* build/paths.h: install directories */
#include "podview.h"
#include <podstore/launch.h>
#include "util.h"

#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442 /* the same on every architecture */
#endif

#define CNI_DEFAULT_PATH "/usr/lib/cni"

static void usage(void)
{
	printf("Usage: podctl version [--format=json|text]\n\n"
	       "Print podctl's version and git commit, the paths it was built for, and what\n"
	       "this host supports: overlayfs, the cgroup layout (v1, hybrid, v2), seccomp\n"
	       "filters, user namespaces, idmapped mounts, the CNI plugins found (in\n"
	       "$PODCTL_CNI_PATH, default " CNI_DEFAULT_PATH ") and skopeo.\n\n"
	       "Options:\n"
	       "      --format=json|text     output format (default text)\n" CLI_GLOBAL_HELP);
}

struct host {
	bool overlayfs;
	const char *cgroup; /* "v1", "hybrid", "v2" or "none" */
	bool seccomp;
	bool userns;
	bool idmapped;
	json_object *cni; /* array of plugin names, sorted */
	const char *cni_path;
	char *skopeo; /* its path, or NULL */
	char *stage1; /* the stage1 run would run */
};

/* "overlay" in /proc/filesystems (registered: built in or module loaded). */
static bool have_overlayfs(void)
{
	FILE *f = fopen("/proc/filesystems", "re");
	char line[128];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *tab = strrchr(line, '\t');
		found = tab && streq(tab + 1, "overlay\n");
	}
	fclose(f);
	return found;
}

static bool is_fs(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == magic;
}

static const char *cgroup_layout(void)
{
	if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
		return "v2";
	if (!is_fs("/sys/fs/cgroup", TMPFS_MAGIC))
		return "none";
	return is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC) ? "hybrid" : "v1";
}

/* Seccomp filters with the actions stage1 uses (kernel ≥ 4.14). */
static bool have_seccomp(void)
{
	unsigned int action = SECCOMP_RET_KILL_PROCESS;

	return syscall(__NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

static bool have_userns(void)
{
	FILE *f = fopen("/proc/sys/user/max_user_namespaces", "re");
	long n = 0;

	if (!f)
		return access("/proc/self/ns/user", F_OK) == 0;
	if (fscanf(f, "%ld", &n) != 1)
		n = 0;
	fclose(f);
	return n > 0;
}

/* mount_setattr(2) exists (Linux ≥ 5.12); which filesystems take idmaps
 * is up to each of them. An invalid call tells without changing anything. */
static bool have_idmapped_mounts(void)
{
	return syscall(__NR_mount_setattr, -1, "", 0, NULL, 0) < 0 && errno != ENOSYS;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(json_object_get_string(*(json_object *const *)a),
	              json_object_get_string(*(json_object *const *)b));
}

/* The next element of a colon-separated list at *list (NULL at its end),
 * as a new string; empty elements are skipped. */
static char *next_path_elem(const char **list)
{
	while (**list == ':')
		(*list)++;
	if (!**list)
		return NULL;
	size_t n = strcspn(*list, ":");
	char *e = strndup(*list, n);
	*list += n;
	return e;
}

/* Executables in each dir of the colon-separated path. */
static json_object *cni_plugins(const char *path)
{
	json_object *a = json_object_new_array();
	char *dir;

	while ((dir = next_path_elem(&path))) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *e;
		struct stat st;

		free(dir);
		if (!d) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.' || fstatat(dfd, e->d_name, &st, 0) < 0 ||
			    !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
				continue;
			json_object_array_add(a, json_object_new_string(e->d_name));
		}
		closedir(d);
	}
	json_object_array_sort(a, cmp_str);
	return a;
}

static char *find_in_path(const char *prog)
{
	const char *env = getenv("PATH");
	const char *list = env && *env ? env : "/usr/local/bin:/usr/bin:/bin";
	char *dir, *found = NULL;

	while (!found && (dir = next_path_elem(&list))) {
		char *p = NULL;
		if (asprintf(&p, "%s/%s", dir, prog) < 0)
			p = NULL; /* undefined after a failure */
		else if (access(p, X_OK) == 0)
			found = TAKE_PTR(p);
		free(p);
		free(dir);
	}
	return found;
}

static void probe_host(struct host *h)
{
	const char *cni = getenv("PODCTL_CNI_PATH");

	if (ps_stage1_path(&h->stage1, NULL) < 0)
		h->stage1 = NULL;
	h->overlayfs = have_overlayfs();
	h->cgroup = cgroup_layout();
	h->seccomp = have_seccomp();
	h->userns = have_userns();
	h->idmapped = have_idmapped_mounts();
	h->cni_path = cni && *cni ? cni : CNI_DEFAULT_PATH;
	h->cni = cni_plugins(h->cni_path);
	/* The skopeo pulls would run: $PODCTL_SKOPEO, else skopeo in PATH. */
	const char *sk = getenv("PODCTL_SKOPEO");
	if (sk && strchr(sk, '/'))
		h->skopeo = access(sk, X_OK) == 0 ? strdup(sk) : NULL;
	else
		h->skopeo = find_in_path(sk && *sk ? sk : "skopeo");
}

static void print_json(const struct host *h)
{
	json_object *o = json_object_new_object(), *host = json_object_new_object(),
	            *paths = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_string(PODCTL_VERSION));
	json_object_object_add(o, "commit", json_object_new_string(PODCTL_GIT_COMMIT));
	json_object_object_add(o, "libpodstore", json_object_new_string(PODSTORE_VERSION));
	json_object_object_add(o, "jsonc", json_object_new_string(json_c_version()));
	json_object_object_add(paths, "prefix", json_object_new_string(PODCTL_PREFIX));
	json_object_object_add(paths, "libexecdir", json_object_new_string(LIBEXECDIR));
	json_object_object_add(paths, "datadir", json_object_new_string(PODCTL_DATADIR));
	json_object_object_add(paths, "sysconfdir", json_object_new_string(PODCTL_SYSCONFDIR));
	json_object_object_add(paths, "stage1", json_object_new_string(h->stage1 ? h->stage1 : ""));
	json_object_object_add(o, "paths", paths);
	json_object_object_add(host, "overlayfs", json_object_new_boolean(h->overlayfs));
	json_object_object_add(host, "cgroup", json_object_new_string(h->cgroup));
	json_object_object_add(host, "seccomp", json_object_new_boolean(h->seccomp));
	json_object_object_add(host, "userNamespaces", json_object_new_boolean(h->userns));
	json_object_object_add(host, "idmappedMounts", json_object_new_boolean(h->idmapped));
	json_object_object_add(host, "cniPath", json_object_new_string(h->cni_path));
	json_object_object_add(host, "cniPlugins", json_object_get(h->cni));
	json_object_object_add(host, "skopeo",
	                       h->skopeo ? json_object_new_string(h->skopeo) : NULL);
	json_object_object_add(o, "host", host);
	json_print(o);
	json_object_put(o);
}

static void print_text(const struct host *h)
{
	size_t n = json_object_array_length(h->cni);

	printf("podctl %s (commit %s)\nlibpodstore %s\njson-c %s\nstage1 %s\n", PODCTL_VERSION,
	       PODCTL_GIT_COMMIT, PODSTORE_VERSION, json_c_version(), h->stage1 ? h->stage1 : "?");
	printf("host:\n  overlayfs        %s\n  cgroup           %s\n  seccomp          %s\n"
	       "  user namespaces  %s\n  idmapped mounts  %s\n  CNI plugins      %zu in %s",
	       h->overlayfs ? "yes" : "no", h->cgroup, h->seccomp ? "yes" : "no",
	       h->userns ? "yes" : "no", h->idmapped ? "yes" : "no", n, h->cni_path);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? " " : ": ", json_object_get_string(json_object_array_get_idx(h->cni, i)));
	printf("\n  skopeo           %s\n", h->skopeo ? h->skopeo : "not found");
}

int cmd_version(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format format = FORMAT_TEXT;
	struct host h = { 0 };
	int c, r;

	while (argc > 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return EXIT_OK;
		case OPT_FORMAT:
			if ((r = cli_parse_format(cli, optarg, &format)))
				return r;
			break;
		default:
			if ((r = cli_handle_global(cli, c, optarg)))
				return r;
		}
	}
	if (argc > 0 && optind < argc)
		return cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
	probe_host(&h);
	if (format == FORMAT_JSON)
		print_json(&h);
	else
		print_text(&h);
	json_object_put(h.cni);
	free(h.skopeo);
	free(h.stage1);
	return EXIT_OK;
}
