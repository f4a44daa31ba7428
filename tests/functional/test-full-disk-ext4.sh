#!/bin/bash
# test-full-disk.sh with the data dir on a loop-mounted 24 MiB ext4 image
# instead of a tmpfs: a real filesystem with a journal fills differently.
PODCTL_TEST_FULL_FS=ext4 exec bash "$(dirname "$0")/test-full-disk.sh"
