/* gaze-io-manifest.c — the images of a cohort: folders, files and CSV/TSV manifests
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "gaze-io-image.h"
#include "gaze-io-manifest.h"

void
gaze_io_cohort_item_free (GazeIoCohortItem *item)
{
  if (item == NULL)
    return;
  g_free (item->path);
  g_free (item->relative);
  g_free (item->label);
  g_free (item->error);
  g_free (item);
}

guint64
gaze_io_fnv1a64 (const char *s)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);
  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
    {
      h ^= *p;
      h *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return h;
}

guint
gaze_io_cohort_shard (const char *relative, guint n)
{
  g_return_val_if_fail (n > 0, 0);
  return (guint) (gaze_io_fnv1a64 (relative) % n);
}

gboolean
gaze_io_cohort_is_image_name (const char *name)
{
  static const char *const exts[] = { "png",  "jpg", "jpeg", "bmp", "gif", "tif", "tiff",
                                      "webp", "pgm", "ppm",  "pnm", "dcm", NULL };
  const char *dot = strrchr (name, '.');
  if (dot == NULL || dot == name)
    return FALSE;
  for (const char *const *e = exts; *e != NULL; e++)
    if (g_ascii_strcasecmp (dot + 1, *e) == 0)
      return TRUE;
  return FALSE;
}

gboolean
gaze_io_cohort_roi_parse (const char *text, int roi[4])
{
  const char *p = text;
  for (int i = 0; i < 4; i++)
    {
      while (*p == ' ' || *p == '\t' || (i > 0 && *p == ','))
        p++;
      char *end;
      errno = 0;
      gint64 v = g_ascii_strtoll (p, &end, 10);
      if (errno != 0 || end == p || v < 0 || v > G_MAXINT)
        return FALSE;
      roi[i] = (int) v;
      p = end;
      if (i < 3 && *p != ',' && *p != ' ' && *p != '\t')
        return FALSE;
    }
  while (*p == ' ' || *p == '\t')
    p++;
  return *p == '\0' && roi[2] > 0 && roi[3] > 0;
}

static GazeIoCohortItem *
item_new (const char *path, const char *relative)
{
  GazeIoCohortItem *it = g_new0 (GazeIoCohortItem, 1);
  it->path = g_strdup (path);
  it->relative = g_strdup (relative);
  return it;
}

/* Every image file below dir (relative names under prefix), unsorted. */
static gboolean
walk (const char *dir, const char *prefix, int depth, GPtrArray *out, GError **error)
{
  if (depth > 64)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s: folders nested too deeply",
                   dir);
      return FALSE;
    }
  g_autoptr (GDir) d = g_dir_open (dir, 0, error);
  if (d == NULL)
    return FALSE;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (name[0] == '.')
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *rel = prefix[0] ? g_strconcat (prefix, "/", name, NULL) : g_strdup (name);
      /* Follows links to folders once: a loop ends at the depth limit. */
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (!walk (path, rel, depth + 1, out, error))
            return FALSE;
        }
      else if (gaze_io_cohort_is_image_name (name))
        g_ptr_array_add (out, item_new (path, rel));
    }
  return TRUE;
}

/* One record of a CSV/TSV text from *pos: the fields, or NULL at the end. */
static GPtrArray *
read_record (const char *text, gsize len, gsize *pos, char sep)
{
  if (*pos >= len)
    return NULL;
  GPtrArray *fields = g_ptr_array_new_with_free_func (g_free);
  GString *f = g_string_new (NULL);
  gboolean quoted = FALSE;
  gsize i = *pos;
  for (; i < len; i++)
    {
      char c = text[i];
      if (quoted)
        {
          if (c == '"' && i + 1 < len && text[i + 1] == '"')
            {
              g_string_append_c (f, '"');
              i++;
            }
          else if (c == '"')
            quoted = FALSE;
          else
            g_string_append_c (f, c);
        }
      else if (c == '"' && f->len == 0)
        quoted = TRUE;
      else if (c == sep)
        {
          g_ptr_array_add (fields, g_string_free (f, FALSE));
          f = g_string_new (NULL);
        }
      else if (c == '\n')
        break;
      else if (c != '\r')
        g_string_append_c (f, c);
    }
  g_ptr_array_add (fields, g_string_free (f, FALSE));
  *pos = i + 1;
  return fields;
}

static int
column (GPtrArray *header, const char *name)
{
  for (guint i = 0; i < header->len; i++)
    if (g_ascii_strcasecmp (g_strstrip ((char *) header->pdata[i]), name) == 0)
      return (int) i;
  return -1;
}

static gboolean
read_manifest (const char *manifest, GPtrArray *out, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (manifest, &text, &len, error))
    return FALSE;
  gsize pos = 0;
  /* UTF-8 byte-order mark, as spreadsheets write it. */
  if (len >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0)
    pos = 3;
  const char *nl = memchr (text + pos, '\n', len - pos);
  gsize first_len = nl != NULL ? (gsize) (nl - (text + pos)) : len - pos;
  char sep = g_str_has_suffix (manifest, ".tsv") || memchr (text + pos, '\t', first_len) != NULL
      ? '\t'
      : ',';
  g_autoptr (GPtrArray) header = read_record (text, len, &pos, sep);
  int c_path = header != NULL ? column (header, "path") : -1;
  if (c_path < 0)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID,
                   "%s: the first row must name a \"path\" column", manifest);
      return FALSE;
    }
  int c_label = column (header, "label"), c_roi = column (header, "roi");
  g_autofree char *base = g_path_get_dirname (manifest);
  GPtrArray *row;
  int line = 1;
  while ((row = read_record (text, len, &pos, sep)) != NULL)
    {
      line++;
      g_autoptr (GPtrArray) fields = row;
      const char *p = (int) fields->len > c_path ? g_strstrip ((char *) fields->pdata[c_path]) : "";
      if (p[0] == '\0')
        {
          gboolean blank = TRUE;
          for (guint i = 0; i < fields->len; i++)
            blank = blank && g_strstrip ((char *) fields->pdata[i])[0] == '\0';
          if (blank)
            continue;
          g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s:%d: no path", manifest,
                       line);
          return FALSE;
        }
      const char *rel = p;
      while (g_str_has_prefix (rel, "./"))
        rel += 2;
      while (rel[0] == '/')
        rel++;
      g_autofree char *path
          = g_path_is_absolute (p) ? g_strdup (p) : g_build_filename (base, p, NULL);
      GazeIoCohortItem *it = item_new (path, rel[0] != '\0' ? rel : p);
      if (c_label >= 0 && (int) fields->len > c_label)
        {
          const char *l = g_strstrip ((char *) fields->pdata[c_label]);
          if (l[0] != '\0')
            it->label = g_strdup (l);
        }
      if (c_roi >= 0 && (int) fields->len > c_roi)
        {
          const char *r = g_strstrip ((char *) fields->pdata[c_roi]);
          if (r[0] != '\0')
            {
              it->has_roi = gaze_io_cohort_roi_parse (r, it->roi);
              if (!it->has_roi)
                it->error = g_strdup_printf (
                    "%s:%d: roi \"%s\": expected x,y,width,height in image pixels", manifest, line,
                    r);
            }
        }
      g_ptr_array_add (out, it);
    }
  return TRUE;
}

static gint
by_relative (gconstpointer a, gconstpointer b)
{
  const GazeIoCohortItem *x = *(GazeIoCohortItem *const *) a;
  const GazeIoCohortItem *y = *(GazeIoCohortItem *const *) b;
  int c = strcmp (x->relative, y->relative);
  return c != 0 ? c : strcmp (x->path, y->path);
}

GPtrArray *
gaze_io_cohort_collect (const char *const *inputs, GError **error)
{
  g_autoptr (GPtrArray) items
      = g_ptr_array_new_with_free_func ((GDestroyNotify) gaze_io_cohort_item_free);
  for (const char *const *in = inputs; in != NULL && *in != NULL; in++)
    {
      const char *input = *in;
      if (g_file_test (input, G_FILE_TEST_IS_DIR))
        {
          if (!walk (input, "", 0, items, error))
            return NULL;
        }
      else if (g_file_test (input, G_FILE_TEST_EXISTS)
               && (g_str_has_suffix (input, ".csv") || g_str_has_suffix (input, ".tsv")))
        {
          if (!read_manifest (input, items, error))
            return NULL;
        }
      else
        {
          g_autofree char *name = g_path_get_basename (input);
          g_ptr_array_add (items, item_new (input, name));
        }
    }
  g_ptr_array_sort (items, by_relative);
  /* Exact duplicates go; two files under one key cannot be told apart. */
  for (guint i = 1; i < items->len;)
    {
      GazeIoCohortItem *prev = items->pdata[i - 1], *it = items->pdata[i];
      if (strcmp (prev->relative, it->relative) != 0)
        {
          i++;
          continue;
        }
      if (strcmp (prev->path, it->path) != 0)
        {
          g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID,
                       "%s and %s have the same relative path %s: give them in separate "
                       "folders or a manifest",
                       prev->path, it->path, it->relative);
          return NULL;
        }
      g_ptr_array_remove_index (items, i);
    }
  for (guint i = 0; i < items->len; i++)
    {
      GazeIoCohortItem *it = items->pdata[i];
      if (it->error == NULL && !g_file_test (it->path, G_FILE_TEST_EXISTS))
        it->error = g_strdup_printf ("%s: no such file", it->path);
    }
  return g_steal_pointer (&items);
}
