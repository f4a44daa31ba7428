/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fixture.h"
#include "util.h"

int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	ps_error *err = NULL;

	if (!f)
		return -1;
	snprintf(f->path, sizeof(f->path), "/tmp/podctl-unit.XXXXXX");
	if (!mkdtemp(f->path))
		return -1;
	if (ps_store_open(f->path, true, &f->store, &err) < 0) {
		ps_error_free(&err);
		return -1;
	}
	*state = f;
	return 0;
}

int fx_teardown(void **state)
{
	struct fx *f = *state;

	ps_store_close(f->store);
	ps_rm_rf_at(AT_FDCWD, f->path);
	free(f);
	return 0;
}

void fx_make_pod(struct fx *f, ps_pod_dir dir, char out[PS_UUID_LEN + 1])
{
	ps_uuid_generate(out);
	assert_int_equal(mkdirat(ps_store_dir_fd(f->store, dir), out, 0700), 0);
}

pid_t fx_hold_lock(struct fx *f, const char *uuid, ps_pod_dir dir)
{
	int pipefd[2];
	char c;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = openat(ps_store_dir_fd(f->store, dir), uuid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	return pid;
}

void fx_release(pid_t child)
{
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}
