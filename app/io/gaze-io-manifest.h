/* gaze-io-manifest.h — the images of a cohort: folders, files and CSV/TSV manifests
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   g_autoptr (GPtrArray) items = gaze_io_cohort_collect (inputs, &error);
 *   for (guint i = 0; i < items->len; i++)
 *     {
 *       GazeIoCohortItem *it = items->pdata[i];   // sorted by it->relative
 *       if (gaze_io_cohort_shard (it->relative, n) != shard) continue;
 *       …
 *     }
 *
 * Every input names its images by a relative path, the cohort's key (sort
 * order, shard, output file names, the results table):
 *  - a folder: every image file below it (recursively; hidden entries are
 *    skipped; image = one of the extensions of gaze_io_cohort_is_image_name),
 *    relative to the folder;
 *  - a manifest, a file ending in .csv or .tsv: a header row naming a "path"
 *    column and optionally "label" (class name or index) and "roi" ("x,y,w,h"
 *    in image pixels, or space-separated); fields may be double-quoted with ""
 *    as an escaped quote (RFC 4180); a relative path is read from the
 *    manifest's folder and keeps its spelling (without "./") as the key;
 *  - any other file: its base name.
 * A file that does not exist, or a manifest row whose roi does not parse,
 * still becomes an item, with an error, so it gets its row. Two different
 * files with the same key are an error of the whole collection.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *path; /* the file to read */
  char *relative; /* its key in the cohort */
  char *label; /* the manifest's "label", or NULL */
  gboolean has_roi;
  int roi[4]; /* x, y, width, height in image pixels */
  char *error; /* why this item cannot be read (NULL: it can be tried) */
} GazeIoCohortItem;

void gaze_io_cohort_item_free (GazeIoCohortItem *item);

/* The items of every input, sorted by relative path (byte order), exact
 * duplicates dropped; NULL with an error when a manifest cannot be read or two
 * files share a key. */
GPtrArray *gaze_io_cohort_collect (const char *const *inputs, GError **error);

/* Whether a file name has an image extension a folder walk takes: png, jpg,
 * jpeg, bmp, gif, tif, tiff, webp, pgm, ppm, pnm, dcm (any case). */
gboolean gaze_io_cohort_is_image_name (const char *name);

/* "x,y,w,h" (commas and/or spaces between four integers, w and h above 0). */
gboolean gaze_io_cohort_roi_parse (const char *text, int roi[4]);

/* 64-bit FNV-1a of the bytes of s (offset basis 0xcbf29ce484222325, prime
 * 0x100000001b3): stable across runs, machines and versions. */
guint64 gaze_io_fnv1a64 (const char *s);

/* The shard (0 … n-1) of a relative path: gaze_io_fnv1a64 (relative) % n. */
guint gaze_io_cohort_shard (const char *relative, guint n);

G_END_DECLS
