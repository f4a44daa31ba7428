/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * $DIR/list-cache: what ps_pod_peek() read of pods nobody holds (info, pid,
 * exit, gc-marked), so that list reads it in one go instead of opening two
 * or three markers per pod (include/podstore/inspect.h).
 *
 * It is a cache, never the record: each entry holds the pod dir's device,
 * inode, ctime, mtime and size as a fresh fstatat() showed them just before
 * the markers were read, and is used only while the dir still shows exactly
 * those. Every marker is replaced by a rename into the pod dir (or removed),
 * which changes the dir's ctime and mtime; a move to another state dir
 * changes its ctime too, and the entry's state dir must match as well. So
 * an entry that matches describes the markers as they are.
 *
 * Timestamps are coarse (a clock tick): a marker replaced in the same tick
 * as the change the entry saw would leave the dir's ctime as it was. So an
 * entry is only made for a dir whose ctime is older than the cache load
 * minus CACHE_MARGIN_NS (far more than a tick): any change made after the
 * stat that read it gets a later ctime. A dir that changed less than that
 * ago is read from its markers, every time, until it has settled.
 *
 * Writers: any list that saw enough change (ps_peek_cache_save). It writes
 * $DIR/tmp/list-cache.<pid> and renames it over $DIR/list-cache: readers
 * see a whole old or a whole new file, concurrent writers need no lock (the
 * last rename wins; every entry in either is right on its own), and a
 * writer killed before its rename leaves a tmp entry gc removes. Not
 * fsynced: the file carries a checksum, and one that is torn, truncated,
 * of another version, untrusted (owner, mode) or inconsistent is ignored as
 * if absent, and replaced by the next list.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <podstore/inspect.h>
#include <podstore/uuid.h>

#include "peekcache.h"
#include "util.h"

#define CACHE_FILE "list-cache"
#define CACHE_MAGIC "PSPEEK01"
#define CACHE_ORDER 0x01020304u
#define CACHE_MARGIN_NS 1000000000LL
#define CACHE_MAX (256u << 20)

struct cache_header {
	char magic[8];
	uint32_t order;    /* CACHE_ORDER in the writer's byte order */
	uint32_t rec_size; /* sizeof(struct cache_rec) */
	uint64_t count;    /* records, sorted by uuid, no two alike */
	uint64_t pool_len; /* the strings after the records: a multiple of 8, ends in NUL */
	uint64_t sum;      /* cache_sum() of records and pool */
};

enum { REC_INFO = 1, REC_PID = 2, REC_EXIT = 4 };

struct cache_rec {
	char uuid[PS_UUID_LEN];
	uint8_t dir;
	uint8_t have; /* REC_* */
	uint8_t pad[2];
	uint64_t dev, ino, size;
	int64_t ctime_ns, mtime_ns;
	int64_t created_ns;
	int64_t pid_time_ns;
	uint64_t starttime, stage1_starttime;
	int32_t pid, stage1_pid;
	int64_t exit_time_ns;
	int32_t exit_code, exit_signal;
	int64_t gc_marked_ns;
	uint32_t name, reason, app; /* 1 + offset in the pool; 0: NULL */
	uint32_t pad2;
};

_Static_assert(sizeof(struct cache_header) % 8 == 0, "header is whole words");
_Static_assert(sizeof(struct cache_rec) % 8 == 0, "records are whole words");

struct ps_peek_cache {
	void *buf; /* the file as loaded */
	const struct cache_rec *old;
	size_t n_old;
	const char *old_pool;
	struct cache_rec *recs; /* what the next save writes */
	size_t n, cap;
	char *pool;
	size_t pool_len, pool_cap;
	long long horizon_ns; /* a dir changed before this may be kept */
	size_t hits, added;
	bool broken; /* out of memory: do not save */
};

static uint64_t cache_sum(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		h ^= w;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	return h;
}

static long long ts_ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static bool rec_matches(const struct cache_rec *r, const struct stat *st)
{
	return r->dev == (uint64_t)st->st_dev && r->ino == (uint64_t)st->st_ino &&
	       r->size == (uint64_t)st->st_size && r->ctime_ns == ts_ns(&st->st_ctim) &&
	       r->mtime_ns == ts_ns(&st->st_mtim);
}

/* The old file, checked whole; false: ignore it. */
static bool cache_check(const void *buf, size_t len)
{
	const struct cache_header *h = buf;

	if (len < sizeof(*h) || memcmp(h->magic, CACHE_MAGIC, sizeof(h->magic)) != 0 ||
	    h->order != CACHE_ORDER || h->rec_size != sizeof(struct cache_rec))
		return false;
	size_t body = len - sizeof(*h);
	if (h->count > body / sizeof(struct cache_rec) || h->pool_len % 8 ||
	    h->count * sizeof(struct cache_rec) + h->pool_len != body)
		return false;
	const struct cache_rec *recs = (const void *)(h + 1);
	const char *pool = (const char *)(recs + h->count);
	if (cache_sum(CACHE_ORDER, recs, body) != h->sum)
		return false;
	if (h->pool_len && pool[h->pool_len - 1] != '\0')
		return false;
	for (size_t i = 0; i < h->count; i++) {
		const struct cache_rec *r = &recs[i];
		char uuid[PS_UUID_LEN + 1];
		memcpy(uuid, r->uuid, PS_UUID_LEN);
		uuid[PS_UUID_LEN] = '\0';
		if (!ps_uuid_is_valid(uuid) || r->dir >= PS_DIR_COUNT ||
		    (i && memcmp(recs[i - 1].uuid, r->uuid, PS_UUID_LEN) >= 0) || r->name > h->pool_len ||
		    r->reason > h->pool_len || r->app > h->pool_len)
			return false;
	}
	return true;
}

static void cache_read(ps_store *s, ps_peek_cache *c)
{
	_cleanup_close_ int fd = openat(ps_store_fd(s), CACHE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || ps_dir_check_trusted(&st, false) < 0 ||
	    st.st_size < (off_t)sizeof(struct cache_header) || st.st_size > (off_t)CACHE_MAX)
		return;
	size_t len = (size_t)st.st_size, got = 0;
	void *buf = malloc(len);
	if (!buf)
		return;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != len || !cache_check(buf, len)) {
		free(buf);
		return;
	}
	const struct cache_header *h = buf;
	c->buf = buf;
	c->old = (const void *)(h + 1);
	c->n_old = h->count;
	c->old_pool = (const char *)(c->old + h->count);
}

int ps_peek_cache_load(ps_store *s, ps_peek_cache **ret, ps_error **err)
{
	ps_peek_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read %s/%s", ps_store_path(s), CACHE_FILE);
	/* Before any pod dir is looked at (ps_peek_cache_wants). */
	c->horizon_ns = ps_now_ns() - CACHE_MARGIN_NS;
	cache_read(s, c);
	*ret = c;
	return 0;
}

void ps_peek_cache_free(ps_peek_cache *c)
{
	if (!c)
		return;
	free(c->buf);
	free(c->recs);
	free(c->pool);
	free(c);
}

static int uuid_cmp(const void *key, const void *elem)
{
	return memcmp(key, ((const struct cache_rec *)elem)->uuid, PS_UUID_LEN);
}

static int rec_cmp(const void *a, const void *b)
{
	return memcmp(((const struct cache_rec *)a)->uuid, ((const struct cache_rec *)b)->uuid, PS_UUID_LEN);
}

/* s into the new pool: 1 + its offset, 0 for NULL, UINT32_MAX when full. */
static uint32_t pool_add(ps_peek_cache *c, const char *s)
{
	if (!s)
		return 0;
	size_t len = strlen(s) + 1;
	if (c->pool_len + len + 8 > CACHE_MAX / 2)
		return UINT32_MAX;
	if (c->pool_len + len > c->pool_cap) {
		size_t nc = c->pool_cap ? c->pool_cap * 2 : 4096;
		while (nc < c->pool_len + len)
			nc *= 2;
		char *np = realloc(c->pool, nc);
		if (!np)
			return UINT32_MAX;
		c->pool = np;
		c->pool_cap = nc;
	}
	memcpy(c->pool + c->pool_len, s, len);
	c->pool_len += len;
	return (uint32_t)(c->pool_len - len + 1);
}

/* Append r, its strings taken from pool (NULL: r's offsets are already in ours). */
static void keep(ps_peek_cache *c, const struct cache_rec *r, const char *name, const char *reason,
                 const char *app)
{
	if (c->broken)
		return;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 256;
		struct cache_rec *nv = realloc(c->recs, nc * sizeof(*nv));
		if (!nv) {
			c->broken = true;
			return;
		}
		c->recs = nv;
		c->cap = nc;
	}
	struct cache_rec *out = &c->recs[c->n];
	*out = *r;
	out->name = pool_add(c, name);
	out->reason = pool_add(c, reason);
	out->app = pool_add(c, app);
	if (out->name == UINT32_MAX || out->reason == UINT32_MAX || out->app == UINT32_MAX) {
		c->broken = true;
		return;
	}
	c->n++;
}

static const char *old_str(const ps_peek_cache *c, uint32_t off)
{
	return off ? c->old_pool + off - 1 : NULL;
}

static int dup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (s && !(*ret = strdup(s)))
		return -ENOMEM;
	return 0;
}

bool ps_peek_cache_find(ps_peek_cache *c, const char *uuid, ps_pod_dir dir, const struct stat *st,
                        unsigned what, ps_pod_view *ret)
{
	if (!c->n_old)
		return false;
	const struct cache_rec *r = bsearch(uuid, c->old, c->n_old, sizeof(*r), uuid_cmp);
	if (!r || r->dir != (uint8_t)dir || !rec_matches(r, st))
		return false;
	ps_pod_view v = { .state = ps_pod_state_from(dir, false) };
	memcpy(v.uuid, uuid, sizeof(v.uuid));
	if ((what & PS_VIEW_INFO) && (r->have & REC_INFO)) {
		v.have_info = true;
		v.info.created_ns = r->created_ns;
		if (dup_opt(old_str(c, r->name), &v.info.name) < 0)
			goto fail;
	}
	if (what & PS_VIEW_RUNTIME) {
		if (!(what & PS_VIEW_NO_PID) && (r->have & REC_PID)) {
			v.have_pid = true;
			v.pid = (ps_pid_marker){ .pid = r->pid, .starttime = r->starttime, .time_ns = r->pid_time_ns,
				                 .stage1_pid = r->stage1_pid, .stage1_starttime = r->stage1_starttime };
		}
		if (r->have & REC_EXIT) {
			v.have_exit = true;
			v.exit.code = r->exit_code;
			v.exit.signal = r->exit_signal;
			v.exit.time_ns = r->exit_time_ns;
			if (dup_opt(old_str(c, r->reason), &v.exit.reason) < 0 ||
			    dup_opt(old_str(c, r->app), &v.exit.app) < 0)
				goto fail;
		}
		if (dir == PS_DIR_EXITED_GARBAGE)
			v.gc_marked_ns = r->gc_marked_ns;
	}
	keep(c, r, old_str(c, r->name), old_str(c, r->reason), old_str(c, r->app));
	c->hits++;
	*ret = v;
	return true;
fail:
	ps_pod_view_clear(&v);
	return false;
}

bool ps_peek_cache_wants(const ps_peek_cache *c, const struct stat *st)
{
	return ts_ns(&st->st_ctim) < c->horizon_ns && ts_ns(&st->st_mtim) < c->horizon_ns;
}

void ps_peek_cache_add(ps_peek_cache *c, const char *uuid, ps_pod_dir dir, const struct stat *st,
                       const ps_pod_view *v)
{
	struct cache_rec r = {
		.dir = (uint8_t)dir,
		.have = (uint8_t)((v->have_info ? REC_INFO : 0) | (v->have_pid ? REC_PID : 0) |
		                  (v->have_exit ? REC_EXIT : 0)),
		.dev = (uint64_t)st->st_dev,
		.ino = (uint64_t)st->st_ino,
		.size = (uint64_t)st->st_size,
		.ctime_ns = ts_ns(&st->st_ctim),
		.mtime_ns = ts_ns(&st->st_mtim),
		.created_ns = v->have_info ? v->info.created_ns : 0,
		.pid_time_ns = v->have_pid ? v->pid.time_ns : 0,
		.starttime = v->have_pid ? v->pid.starttime : 0,
		.stage1_starttime = v->have_pid ? v->pid.stage1_starttime : 0,
		.pid = v->have_pid ? v->pid.pid : 0,
		.stage1_pid = v->have_pid ? v->pid.stage1_pid : 0,
		.exit_time_ns = v->have_exit ? v->exit.time_ns : 0,
		.exit_code = v->have_exit ? v->exit.code : 0,
		.exit_signal = v->have_exit ? v->exit.signal : 0,
		.gc_marked_ns = dir == PS_DIR_EXITED_GARBAGE ? v->gc_marked_ns : 0,
	};
	memcpy(r.uuid, uuid, PS_UUID_LEN);
	keep(c, &r, v->have_info ? v->info.name : NULL, v->have_exit ? v->exit.reason : NULL,
	     v->have_exit ? v->exit.app : NULL);
	c->added++;
}

int ps_peek_cache_save(ps_store *s, ps_peek_cache *c, ps_error **err)
{
	static const char zeros[8];

	if (!c || c->broken)
		return 0;
	/* Worth a rewrite: entries to add or to drop (pods gone, changed,
	 * moved) are not few beside the ones that still hold. A pod not in
	 * the cache costs every list two or three marker reads (~10 us); the
	 * rewrite, a write of ~170 bytes per pod, about what 1/64 of the pods
	 * read the slow way cost once. */
	size_t dropped = c->n_old > c->hits ? c->n_old - c->hits : 0;
	size_t changed = c->added + dropped;
	if (!changed || changed * 64 < c->hits + 64)
		return 0;
	/* The walk yields uuids sorted and once each; make sure. */
	bool sorted = true;
	for (size_t i = 1; i < c->n && sorted; i++)
		sorted = memcmp(c->recs[i - 1].uuid, c->recs[i].uuid, PS_UUID_LEN) < 0;
	if (!sorted) {
		qsort(c->recs, c->n, sizeof(*c->recs), rec_cmp);
		size_t j = 0;
		for (size_t i = 0; i < c->n; i++) {
			if (j && memcmp(c->recs[j - 1].uuid, c->recs[i].uuid, PS_UUID_LEN) == 0)
				c->recs[j - 1] = c->recs[i];
			else
				c->recs[j++] = c->recs[i];
		}
		c->n = j;
	}
	size_t pad = (8 - c->pool_len % 8) % 8;
	struct cache_header h = {
		.magic = CACHE_MAGIC,
		.order = CACHE_ORDER,
		.rec_size = sizeof(struct cache_rec),
		.count = c->n,
		.pool_len = c->pool_len + pad,
	};
	uint64_t sum = cache_sum(CACHE_ORDER, c->recs, c->n * sizeof(*c->recs));
	/* The pool, padded: hash its whole words, then the last one. */
	size_t whole = c->pool_len - c->pool_len % 8;
	h.sum = cache_sum(sum, c->pool, whole);
	if (pad) {
		char last[8] = { 0 };
		memcpy(last, c->pool + whole, c->pool_len - whole);
		h.sum = cache_sum(h.sum, last, 8);
	}

	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%s.%d", CACHE_FILE, (int)getpid());
	int tfd = ps_store_tmp_fd(s);
	_cleanup_close_ int fd = openat(tfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ps_error_errno(err, "write %s/tmp/%s", ps_store_path(s), tmp);
	int r;
	if ((r = ps_write_all(fd, &h, sizeof(h))) < 0 ||
	    (r = ps_write_all(fd, c->recs, c->n * sizeof(*c->recs))) < 0 ||
	    (r = ps_write_all(fd, c->pool, c->pool_len)) < 0 || (r = ps_write_all(fd, zeros, pad)) < 0) {
		unlinkat(tfd, tmp, 0);
		return ps_error_set(err, PS_ERR_FAILED, -r, "write %s/tmp/%s", ps_store_path(s), tmp);
	}
	if (close(TAKE_FD(fd)) < 0 || renameat(tfd, tmp, ps_store_fd(s), CACHE_FILE) < 0) {
		r = ps_error_errno(err, "write %s/%s", ps_store_path(s), CACHE_FILE);
		unlinkat(tfd, tmp, 0);
		return r;
	}
	return 1;
}
