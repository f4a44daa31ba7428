/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Run a fuzz target over files, without libFuzzer: `make check` replays the
 * corpus this way so every input that ever found a bug stays a test. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		_cleanup_close_ int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		if (fd < 0 || ps_read_all(fd, 1 << 20, &buf, &len) < 0) {
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			return 1;
		}
		LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
		n++;
	}
	printf("fuzz replay: %d passed, 0 failed\n", n);
	return 0;
}
