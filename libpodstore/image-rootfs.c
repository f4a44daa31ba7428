/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Plain rootfs images: a tarball (any compression libarchive reads) is one
 * layer as it is; a dir is packed into a deterministic tar first, so it
 * gets a digest and a blob like any tarball.
 */

#include "archive-dl.h"
#include <fcntl.h>
#include <sys/stat.h>
#include "image-internal.h"
#include "util.h"

static int rootfs_open_layer(void *ctx, size_t i, int *ret_fd, const char **ret_expect,
			     long long *ret_size, ps_error **err)
{
	int *fd = ctx;

	*ret_fd = TAKE_FD(*fd);
	*ret_expect = NULL;
	*ret_size = -1;
	return 0;
}

int import_rootfs_fd(struct import *im, int fd, struct image_rec *rec, ps_error **err)
{
	struct stat st;
	int r;

	rec->format = "rootfs";
	rec->n_layers = 1;
	rec->layers = calloc(2, sizeof(*rec->layers));
	if (!rec->layers)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	im->n_layers = 1;
	if (fstat(fd, &st) == 0)
		im->total = 2 * st.st_size;
	r = import_layers(im, rec, rootfs_open_layer, &fd, err);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return r;
	memcpy(rec->digest_hex, rec->layers[0].hex, sizeof(rec->digest_hex));
	return 0;
}

struct pack {
	int fd;
	int err;
};

static la_ssize_t pack_write(struct archive *a, void *userdata, const void *buf, size_t len)
{
	struct pack *p = userdata;
	int r = ps_write_all(p->fd, buf, len);

	if (r < 0) {
		p->err = -r;
		archive_set_error(a, -r, "write");
		return -1;
	}
	return (la_ssize_t)len;
}

/*
 * Pack a rootfs dir into a tar (pax) in an unnamed tmp file, so it gets a
 * digest and a blob like any tarball. Deterministic for an unchanged tree
 * (no atime/ctime, numeric owners only), so a re-import finds its blob.
 */
int import_pack_dir(struct import *im, const char *path, int *ret_fd, ps_error **err)
{
	struct archive *disk = NULL, *out = NULL;
	struct archive_entry_linkresolver *lr = NULL;
	struct pack p = { .fd = -1 };
	size_t plen = strlen(path);
	char buf[65536];
	int r = 0;

	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	p.fd = openat(ps_store_tmp_fd(im->st.s), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (p.fd < 0)
		return ps_error_errno(err, "create a tarball in tmp/");
	disk = archive_read_disk_new();
	out = archive_write_new();
	lr = archive_entry_linkresolver_new();
	if (!disk || !out || !lr) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pack %s", path);
		goto out;
	}
	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS |
						     ARCHIVE_READDISK_NO_ACL |
						     ARCHIVE_READDISK_NO_FFLAGS);
	archive_write_set_format_pax_restricted(out);
	archive_entry_linkresolver_set_strategy(lr, archive_format(out));
	if (archive_write_open2(out, &p, NULL, pack_write, NULL, NULL) != ARCHIVE_OK ||
	    archive_read_disk_open(disk, path) != ARCHIVE_OK) {
		r = ps_error_set(err, PS_ERR_FAILED, archive_errno(disk) > 0 ? archive_errno(disk) : 0,
				 "pack %s: %s", path, archive_error_string(disk));
		goto out;
	}
	for (;;) {
		struct archive_entry *e = archive_entry_new(), *spare = NULL;
		const char *name;
		_cleanup_free_ char *rel = NULL;

		r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			r = 0;
			break;
		}
		if (r < ARCHIVE_WARN) {
			r = ps_error_set(err, PS_ERR_FAILED, 0, "pack %s: %s", path,
					 archive_error_string(disk));
			archive_entry_free(e);
			goto out;
		}
		archive_read_disk_descend(disk);
		name = archive_entry_pathname(e);
		if (strncmp(name, path, plen) == 0 && (name[plen] == '/' || !name[plen]))
			name += plen;
		while (*name == '/')
			name++;
		rel = ps_strdup_printf("./%s", name);
		if (!rel) {
			archive_entry_free(e);
			r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pack");
			goto out;
		}
		archive_entry_copy_pathname(e, rel);
		archive_entry_unset_atime(e);
		archive_entry_unset_ctime(e);
		archive_entry_unset_birthtime(e);
		archive_entry_set_uname(e, NULL);
		archive_entry_set_gname(e, NULL);
		archive_entry_linkify(lr, &e, &spare);
		if (e) {
			bool data = archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0;
			if (archive_write_header(out, e) < ARCHIVE_WARN) {
				r = ps_error_set(err, PS_ERR_FAILED, p.err, "pack %s: %s", rel,
						 archive_error_string(out));
				archive_entry_free(e);
				goto out;
			}
			for (ssize_t n; data && (n = archive_read_data(disk, buf, sizeof(buf))) != 0;) {
				if (n < 0 || archive_write_data(out, buf, (size_t)n) < 0) {
					r = ps_error_set(err, PS_ERR_FAILED, p.err, "pack %s: %s", rel,
							 n < 0 ? archive_error_string(disk)
							       : archive_error_string(out));
					archive_entry_free(e);
					goto out;
				}
			}
			archive_entry_free(e);
		}
		archive_entry_free(spare);
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		r = ps_error_set(err, PS_ERR_FAILED, p.err, "pack %s: %s", path,
				 archive_error_string(out));
		goto out;
	}
	if (lseek(p.fd, 0, SEEK_SET) < 0) {
		r = ps_error_errno(err, "pack %s", path);
		goto out;
	}
	*ret_fd = TAKE_FD(p.fd);
out:
	archive_entry_linkresolver_free(lr);
	if (disk)
		archive_read_free(disk);
	if (out)
		archive_write_free(out);
	if (p.fd >= 0)
		close(p.fd);
	return r;
}

