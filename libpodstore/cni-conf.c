/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CNI network configuration lists: names, where they and the plugins are,
 * finding a list by its "name", checking it, the default network's list
 * (written on first use), and the copy a pod keeps (podstore/cni.h).
 */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>

#include <podstore/fileio.h>
#include "cni-internal.h"
#include "json-util.h"
#include "strv.h"
#include "util.h"

bool ps_cni_name_is_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

const char *ps_cni_config_dir(const char *dir)
{
	const char *e = secure_getenv("PODCTL_CNI_CONFIG_DIR");

	if (dir && *dir)
		return dir;
	return e && *e ? e : PS_CNI_DEFAULT_CONFIG_DIR;
}

const char *ps_cni_plugin_path(void)
{
	const char *e = secure_getenv("PODCTL_CNI_PATH");

	return e && *e ? e : PS_CNI_DEFAULT_PATH;
}

/* --- conflists ----------------------------------------------------------------- */

/* The executable dir/type for the first dir of path holding it; -ENOENT. */
int cni_plugin_find(const char *path, const char *type, char **ret)
{
	const char *p = path;

	while (p && *p) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		if (n > 0) {
			char *f = ps_strdup_printf("%.*s/%s", (int)n, p, type);
			if (!f)
				return -ENOMEM;
			struct stat st;
			if (stat(f, &st) == 0 && S_ISREG(st.st_mode) && access(f, X_OK) == 0) {
				*ret = f;
				return 0;
			}
			free(f);
		}
		p = colon ? colon + 1 : NULL;
	}
	return -ENOENT;
}

static int conflist_check_obj(json_object *o, const char *plugin_path, ps_error **err)
{
	const char *version = ps_json_str(o, "cniVersion");
	const char *name = ps_json_str(o, "name");
	json_object *plugins = ps_json_array(o, "plugins");

	if (!json_object_is_type(o, json_type_object))
		return ps_error_set(err, PS_ERR_INVALID, 0, "expected a JSON object");
	if (!version || !*version)
		return ps_error_set(err, PS_ERR_INVALID, 0, "no \"cniVersion\"");
	if (!ps_cni_name_is_valid(name))
		return ps_error_set(err, PS_ERR_INVALID, 0, "\"name\" missing or not a valid network name");
	if (!plugins || json_object_array_length(plugins) == 0)
		return ps_error_set(err, PS_ERR_INVALID, 0, "\"plugins\" missing or empty");
	for (size_t i = 0; i < json_object_array_length(plugins); i++) {
		json_object *pl = json_object_array_get_idx(plugins, i);
		const char *type = ps_json_str(pl, "type");
		if (!type)
			return ps_error_set(err, PS_ERR_INVALID, 0, "plugins[%zu]: no \"type\"", i);
		if (!ps_name_is_valid(type, 255) || type[0] == '.')
			return ps_error_set(err, PS_ERR_INVALID, 0, "plugins[%zu]: bad plugin type \"%.64s\"", i,
			                    type);
		_cleanup_free_ char *f = NULL;
		int r = cni_plugin_find(plugin_path, type, &f);
		if (r == -ENOMEM)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "plugins[%zu]", i);
		if (r < 0)
			return ps_error_set(err, PS_ERR_INVALID, 0, "plugin %s not found in %s", type, plugin_path);
	}
	return 0;
}

int ps_cni_conflist_check(const char *json, size_t len, const char *plugin_path, ps_error **err)
{
	_cleanup_json_ json_object *o = NULL;

	if (ps_json_parse(json, len, &o) < 0)
		return ps_error_set(err, PS_ERR_INVALID, 0, "not valid JSON");
	return conflist_check_obj(o, plugin_path ? plugin_path : ps_cni_plugin_path(), err);
}

static char *default_conflist(void)
{
	return ps_strdup_printf(
		"{\n"
		"  \"cniVersion\": \"1.0.0\",\n"
		"  \"name\": \"%s\",\n"
		"  \"disableCheck\": true,\n"
		"  \"plugins\": [\n"
		"    {\n"
		"      \"type\": \"bridge\",\n"
		"      \"bridge\": \"%s\",\n"
		"      \"isGateway\": true,\n"
		"      \"ipMasq\": true,\n"
		"      \"hairpinMode\": true,\n"
		"      \"ipam\": {\n"
		"        \"type\": \"host-local\",\n"
		"        \"ranges\": [[{ \"subnet\": \"%s\" }]],\n"
		"        \"routes\": [{ \"dst\": \"0.0.0.0/0\" }]\n"
		"      }\n"
		"    },\n"
		"    { \"type\": \"portmap\", \"capabilities\": { \"portMappings\": true } },\n"
		"    { \"type\": \"firewall\" }\n"
		"  ]\n"
		"}\n",
		PS_CNI_DEFAULT_NETWORK, PS_CNI_DEFAULT_BRIDGE, PS_CNI_DEFAULT_SUBNET);
}

static int is_conflist(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 9 && streq(d->d_name + n - 9, ".conflist");
}

/* The text of the first conflist in dfd (in name order) naming name: 0 and
 * *ret, or 0 and *ret NULL when none does (*ret_skipped: the first file that
 * could not be read as JSON, for the message). */
static int conflist_scan(int dfd, const char *name, char **ret, char **ret_skipped, ps_error **err)
{
	struct dirent **ents = NULL;
	int n = scandirat(dfd, ".", &ents, is_conflist, alphasort);

	if (n < 0)
		return ps_error_errno(err, "read dir");
	*ret = NULL;
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *text = NULL;
		_cleanup_json_ json_object *o = NULL;
		size_t len = 0;
		struct stat st;
		const char *f = ents[i]->d_name;
		_cleanup_close_ int fd = *ret ? -1 : openat(dfd, f, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

		if (*ret)
			continue;
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    ps_read_all(fd, CONFLIST_MAX, &text, &len) < 0 || ps_json_parse(text, len, &o) < 0) {
			if (!*ret_skipped)
				*ret_skipped = strdup(f);
			continue;
		}
		const char *nm = ps_json_str(o, "name");
		if (nm && streq(nm, name))
			*ret = TAKE_PTR(text);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return 0;
}

/* mkdir -p of an absolute or relative path. */
static int mkdir_p(const char *path)
{
	_cleanup_free_ char *s = strdup(path);

	if (!s)
		return -ENOMEM;
	for (char *q = strchr(s + 1, '/'); q; q = strchr(q + 1, '/')) {
		*q = '\0';
		if (mkdir(s, 0755) < 0 && errno != EEXIST)
			return -errno;
		*q = '/';
	}
	return mkdir(s, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

int ps_cni_conflist_find(const char *conf_dir, const char *name, char **ret, ps_error **err)
{
	const char *dir = ps_cni_config_dir(conf_dir);
	const char *want = name && streq(name, "default") ? PS_CNI_DEFAULT_NETWORK : name;
	_cleanup_free_ char *text = NULL, *skipped = NULL;
	int r;

	if (!ps_cni_name_is_valid(want))
		return ps_error_set(err, PS_ERR_INVALID, 0, "network \"%.64s\": not a valid network name", name ? name : "");
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && !(errno == ENOENT && streq(want, PS_CNI_DEFAULT_NETWORK)))
		return ps_error_set(err, errno == ENOENT ? PS_ERR_NOT_FOUND : PS_ERR_FAILED, errno,
		                    "network %s: config dir %s", want, dir);
	if (dfd >= 0 && (r = conflist_scan(dfd, want, &text, &skipped, err)) < 0)
		return ps_error_prefix(err, r, "network %s: %s", want, dir);
	if (!text && streq(want, PS_CNI_DEFAULT_NETWORK)) {
		/* First use of the default network: write its list. */
		if (dfd < 0) {
			r = mkdir_p(dir);
			if (r < 0)
				return ps_error_set(err, PS_ERR_FAILED, -r, "network %s: mkdir %s", want, dir);
			dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0)
				return ps_error_errno(err, "network %s: config dir %s", want, dir);
		}
		/* Never over a file of that name we could not read as podctl's:
		 * it is the admin's, broken or naming another network. */
		if (faccessat(dfd, PS_CNI_DEFAULT_NETWORK ".conflist", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return ps_error_set(err, PS_ERR_INVALID, 0,
			                    "network %s: %s/%s.conflist exists but does not define it%s", want, dir,
			                    PS_CNI_DEFAULT_NETWORK, skipped ? " (not valid JSON?)" : "");
		text = default_conflist();
		if (!text)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "network %s", want);
		r = ps_write_file_at(dfd, PS_CNI_DEFAULT_NETWORK ".conflist", text, strlen(text), 0644,
		                     PS_WRITE_DURABLE, err);
		if (r < 0)
			return ps_error_prefix(err, r, "network %s: write %s/%s.conflist", want, dir,
			                       PS_CNI_DEFAULT_NETWORK);
	}
	if (!text) {
		if (skipped)
			return ps_error_set(err, PS_ERR_NOT_FOUND, 0,
			                    "network %s: no conflist in %s names it (%s skipped: not valid JSON)",
			                    want, dir, skipped);
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "network %s: no conflist in %s names it", want, dir);
	}
	r = ps_cni_conflist_check(text, strlen(text), NULL, err);
	if (r < 0)
		return ps_error_prefix(err, r, "network %s (%s)", want, dir);
	*ret = TAKE_PTR(text);
	return 0;
}

int ps_cni_prepare_pod(int pod_fd, const char *text, ps_error **err)
{
	if (ps_mkdirat_p(pod_fd, PS_CNI_DIR, 0700) < 0)
		return ps_error_errno(err, "mkdir %s", PS_CNI_DIR);
	_cleanup_close_ int nfd = openat(pod_fd, PS_CNI_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (nfd < 0)
		return ps_error_errno(err, "open %s", PS_CNI_DIR);
	int r = ps_write_file_at(nfd, PS_CNI_FILE_CONFLIST, text, strlen(text), 0600, PS_WRITE_SYNC_DATA, err);
	if (r >= 0 && ps_fsync(nfd) < 0)
		r = ps_error_errno(err, "fsync %s", PS_CNI_DIR);
	return r;
}
