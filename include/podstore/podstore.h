/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_PODSTORE_H
#define PODSTORE_PODSTORE_H

/* libpodstore: the on-disk pod store podctl stands on. Link with
 * `pkg-config --cflags --libs podstore`. */

#include "error.h"
#include "log.h"
#include "store.h"
#include "uuid.h"
#include "duration.h"
#include "fileio.h"
#include "pod.h"
#include "markers.h"
#include "manifest.h"
#include "image.h"
#include "gc.h"
#include "wait.h"
#include "waitset.h"
#include "events.h"
#include "health.h"

#define PODSTORE_VERSION "0.1.0"

#endif
