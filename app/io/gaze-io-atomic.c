/* gaze-io-atomic.c — write a user's output file without ever leaving half of it
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gaze-io-atomic.h"

static gboolean
same_file (const char *a, const char *b)
{
  struct stat sa, sb;

  if (a == NULL || b == NULL || g_stat (a, &sa) != 0 || g_stat (b, &sb) != 0)
    return FALSE;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

gboolean
gaze_io_write_atomically (const char *path, const char *input_path, GazeIoWriteFunc write,
                          gpointer data, GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *tmp = NULL;
  struct stat st;
  int fd;

  g_return_val_if_fail (path != NULL && write != NULL, FALSE);

  base = g_path_get_basename (path);
  if (same_file (path, input_path))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                           _ ("The export would replace the analysed image itself"));
      return FALSE;
    }
  /* The rename would replace a FIFO or a device node. */
  if (g_stat (path, &st) == 0 && !S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _ ("Cannot write “%s”: it exists and is not a regular file"), base);
      return FALSE;
    }

  dir = g_path_get_dirname (path);
  tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  fd = g_mkstemp (tmp);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _ ("Cannot write to “%s”: %s"),
                   dir, g_strerror (saved));
      return FALSE;
    }
  close (fd);

  if (!write (tmp, data, error))
    {
      g_unlink (tmp);
      return FALSE;
    }
  if (g_rename (tmp, path) != 0)
    {
      int saved = errno;
      g_unlink (tmp);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _ ("Cannot write “%s”: %s"),
                   base, g_strerror (saved));
      return FALSE;
    }
  /* mkstemp made it private; an export is an ordinary document. */
  g_chmod (path, 0644);
  return TRUE;
}
