/* gz-zip.h — the zip container torch.save writes, read in place
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gz-source.h"

typedef struct
{
  const char *name; /* points into the zip's directory: not NUL-terminated */
  size_t name_len;
  uint64_t offset; /* of the data in the file */
  size_t size;
} GzZipEntry;

typedef struct
{
  int n;
  GzZipEntry *entries;
  unsigned char *directory; /* the central directory, read from the file */
} GzZip;

/* Reads the central directory (only it and the local headers: the entries'
 * data stays in the file). Only STORED entries; names with "..", a leading
 * '/' or a backslash are refused, and so are entries whose data lies outside
 * the file or overlaps another's. */
GzStatus gz_zip_open (const GzSource *src, GzZip *zip, GzError *err);
void gz_zip_close (GzZip *zip);
/* The entry named exactly `name` (NUL-terminated), or NULL. */
const GzZipEntry *gz_zip_find (const GzZip *zip, const char *name);
