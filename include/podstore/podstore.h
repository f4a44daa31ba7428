/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_PODSTORE_H
#define PODSTORE_PODSTORE_H

/* libpodstore: the on-disk pod store podctl stands on. Link with
 * `pkg-config --cflags --libs podstore`. */

#include <podstore/error.h>
#include <podstore/log.h>
#include <podstore/store.h>
#include <podstore/uuid.h>
#include <podstore/duration.h>
#include <podstore/fileio.h>
#include <podstore/pod.h>
#include <podstore/podname.h>
#include <podstore/markers.h>
#include <podstore/manifest.h>
#include <podstore/image.h>
#include <podstore/pull.h>
#include <podstore/gc.h>
#include <podstore/wait.h>
#include <podstore/waitset.h>
#include <podstore/events.h>
#include <podstore/health.h>
#include <podstore/app.h>
#include <podstore/control.h>
#include <podstore/inspect.h>
#include <podstore/launch.h>
#include <podstore/exitwatch.h>
#include <podstore/cgroup.h>
#include <podstore/quantity.h>
#include <podstore/uidrange.h>

#define PODSTORE_VERSION "0.1.0"

#endif
