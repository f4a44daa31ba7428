/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/syscall.h>

#include "procutil.h"
#include "util.h"

int ps_proc_starttime(pid_t pid, unsigned long long *ret)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EBADMSG;
	p++;
	/* p now points at " S ppid ..."; state is field 3, starttime field 22. */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EBADMSG;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EBADMSG;
	*ret = v;
	return 0;
}

int ps_pidfd_open_verified(pid_t pid, unsigned long long starttime)
{
	unsigned long long st;
	int fd, r;

	if (pid <= 0)
		return -ESRCH;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	r = ps_proc_starttime(pid, &st);
	if (r < 0 || st != starttime) {
		close(fd);
		return r == -ENOENT || r == 0 ? -ESRCH : r;
	}
	return fd;
}
