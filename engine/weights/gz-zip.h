/* gz-zip.h — the zip container torch.save writes, read in place
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gaze-engine.h"

typedef struct
{
  const char *name; /* points into the file: not NUL-terminated */
  size_t name_len;
  const unsigned char *data; /* points into the file */
  size_t size;
} GzZipEntry;

typedef struct
{
  int n;
  GzZipEntry *entries;
} GzZip;

/* Reads the central directory. Only STORED entries; names with "..", a
 * leading '/' or a backslash are refused, and so are entries whose data lies
 * outside the file or overlaps another's. */
GzStatus gz_zip_open (const void *bytes, size_t len, GzZip *zip, GzError *err);
void gz_zip_close (GzZip *zip);
/* The entry named exactly `name` (NUL-terminated), or NULL. */
const GzZipEntry *gz_zip_find (const GzZip *zip, const char *name);
