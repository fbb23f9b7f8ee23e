/* gaze-io-dicom-isolate.c — the DICOM decoder run in a child process
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The child decodes, writes the result down a pipe and _exits; the parent
 * reads it back while the child writes (a large image fills the pipe), then
 * reaps the child. The child only decodes and writes: it touches no GTK, no
 * main loop, no other thread's state.
 *
 * fork() in a multi-threaded program copies every lock as it is, and a child
 * that takes one another thread held at that instant waits forever (seen
 * under ASan in a two-thread batch and under TSan in the viewer). Until the
 * decoder runs in an exec'd helper, the parent watches the child: one that
 * sleeps without using any CPU for stall_seconds before sending anything is
 * killed and the decode forked again (up to three times).
 */
#define G_LOG_DOMAIN "gaze-io"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gaze-io-dicom-isolate.h"
#include "gaze-io-image.h"

/* ---- Writing (child) ---------------------------------------------------- */

static gboolean
put (int fd, const void *p, gsize n)
{
  const guint8 *b = p;
  while (n > 0)
    {
      gssize w = write (fd, b, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return FALSE;
      b += w;
      n -= (gsize) w;
    }
  return TRUE;
}

static gboolean
put_string (int fd, const char *s)
{
  gint64 n = s != NULL ? (gint64) strlen (s) : -1;
  return put (fd, &n, sizeof n) && (s == NULL || put (fd, s, (gsize) n));
}

static gboolean
put_dicom (int fd, const GazeIoDicom *d)
{
  const GazeIoDicomMeta *m = &d->meta;
  gsize n_values = (gsize) d->width * d->height * d->channels;

  for (int i = 0; i < GAZE_IO_DICOM_N_IDENTIFIERS; i++)
    if (!put_string (fd, m->identifiers[i]))
      return FALSE;
  return put_string (fd, m->modality) && put_string (fd, m->body_part)
      && put_string (fd, m->study_date) && put_string (fd, m->photometric)
      && put_string (fd, m->transfer_syntax_uid) && put_string (fd, m->transfer_syntax_name)
      && put (fd, &m->rows, sizeof m->rows) && put (fd, &m->columns, sizeof m->columns)
      && put (fd, &m->frames, sizeof m->frames)
      && put (fd, m->pixel_spacing, sizeof m->pixel_spacing)
      && put (fd, &m->spacing_is_imager, sizeof m->spacing_is_imager)
      && put (fd, &m->n_presets, sizeof m->n_presets)
      && put (fd, m->presets, sizeof *m->presets * (gsize) MAX (m->n_presets, 0))
      && put (fd, &d->frame, sizeof d->frame) && put (fd, &d->width, sizeof d->width)
      && put (fd, &d->height, sizeof d->height) && put (fd, &d->channels, sizeof d->channels)
      && put (fd, d->values, sizeof *d->values * n_values)
      && put (fd, &d->monochrome1, sizeof d->monochrome1) && put (fd, &d->window, sizeof d->window)
      && put (fd, &d->min, sizeof d->min) && put (fd, &d->max, sizeof d->max)
      && put (fd, &d->voi_lut_desc, sizeof d->voi_lut_desc)
      && put (fd, d->voi_lut,
              sizeof *d->voi_lut * (d->voi_lut != NULL ? d->voi_lut_desc.n_entries : 0));
}

G_GNUC_NORETURN static void
child (int fd, GazeIoDicomDecodeFunc decode, gpointer data)
{
  GError *error = NULL;
  GazeIoDicom *dicom = decode (data, &error);
  guint8 ok = dicom != NULL;
  gboolean sent = put (fd, &ok, 1);
  if (sent && ok)
    sent = put_dicom (fd, dicom);
  else if (sent)
    sent = put (fd, &error->code, sizeof error->code) && put_string (fd, error->message);
  /* No exit handlers, no flushing of the parent's stdio buffers. */
  _exit (sent ? 0 : 1);
}

/* ---- Reading (parent) --------------------------------------------------- */

typedef struct
{
  int fd;
  gboolean failed;
} Reader;

static void
get (Reader *r, void *p, gsize n)
{
  guint8 *b = p;
  while (!r->failed && n > 0)
    {
      gssize got = read (r->fd, b, n);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        r->failed = TRUE;
      else
        b += got, n -= (gsize) got;
    }
  if (r->failed)
    memset (b, 0, n);
}

static char *
get_string (Reader *r)
{
  gint64 n = -1;
  get (r, &n, sizeof n);
  if (r->failed || n < 0 || n > 1 << 20)
    {
      r->failed = r->failed || n < -1 || n > 1 << 20;
      return NULL;
    }
  char *s = g_malloc ((gsize) n + 1);
  get (r, s, (gsize) n);
  s[n] = '\0';
  return s;
}

static GazeIoDicom *
get_dicom (Reader *r)
{
  GazeIoDicom *d = g_new0 (GazeIoDicom, 1);
  GazeIoDicomMeta *m = &d->meta;
  for (int i = 0; i < GAZE_IO_DICOM_N_IDENTIFIERS; i++)
    m->identifiers[i] = get_string (r);
  m->modality = get_string (r);
  m->body_part = get_string (r);
  m->study_date = get_string (r);
  m->photometric = get_string (r);
  m->transfer_syntax_uid = get_string (r);
  m->transfer_syntax_name = get_string (r);
  get (r, &m->rows, sizeof m->rows);
  get (r, &m->columns, sizeof m->columns);
  get (r, &m->frames, sizeof m->frames);
  get (r, m->pixel_spacing, sizeof m->pixel_spacing);
  get (r, &m->spacing_is_imager, sizeof m->spacing_is_imager);
  get (r, &m->n_presets, sizeof m->n_presets);
  if (!r->failed && (m->n_presets < 0 || m->n_presets > 4096))
    r->failed = TRUE;
  if (!r->failed && m->n_presets > 0)
    {
      m->presets = g_new (GazeIoWindow, m->n_presets);
      get (r, m->presets, sizeof *m->presets * (gsize) m->n_presets);
    }
  get (r, &d->frame, sizeof d->frame);
  get (r, &d->width, sizeof d->width);
  get (r, &d->height, sizeof d->height);
  get (r, &d->channels, sizeof d->channels);
  if (!r->failed
      && (d->width <= 0 || d->height <= 0 || (d->channels != 1 && d->channels != 3)
          || (guint64) d->width * (guint64) d->height > G_MAXSIZE / 16))
    r->failed = TRUE;
  if (!r->failed)
    {
      gsize n = (gsize) d->width * d->height * d->channels;
      d->values = g_try_new (float, n);
      if (d->values == NULL)
        r->failed = TRUE;
      else
        get (r, d->values, sizeof *d->values * n);
    }
  get (r, &d->monochrome1, sizeof d->monochrome1);
  get (r, &d->window, sizeof d->window);
  get (r, &d->min, sizeof d->min);
  get (r, &d->max, sizeof d->max);
  get (r, &d->voi_lut_desc, sizeof d->voi_lut_desc);
  d->voi_lut_desc.entries = NULL;
  if (!r->failed && d->voi_lut_desc.n_entries > 0)
    {
      if (d->voi_lut_desc.n_entries > 1 << 20)
        r->failed = TRUE;
      else
        {
          d->voi_lut = g_new (guint16, d->voi_lut_desc.n_entries);
          get (r, d->voi_lut, sizeof *d->voi_lut * d->voi_lut_desc.n_entries);
          d->voi_lut_desc.entries = d->voi_lut;
        }
    }
  if (r->failed)
    g_clear_pointer (&d, gaze_io_dicom_free);
  return d;
}

static int stall_seconds = 10;

void
gaze_io_dicom_isolate_set_stall_seconds (int seconds)
{
  stall_seconds = MAX (seconds, 1);
}

/* The child's CPU time in clock ticks (utime + stime), or -1. */
static long long
child_cpu_ticks (pid_t pid)
{
  char path[64], buf[1024];
  g_snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  FILE *f = fopen (path, "re");
  if (f == NULL)
    return -1;
  size_t n = fread (buf, 1, sizeof buf - 1, f);
  fclose (f);
  buf[n] = '\0';
  /* Fields after the command name (which may hold spaces): state is the 3rd
   * field, utime and stime the 14th and 15th. */
  const char *p = strrchr (buf, ')');
  unsigned long long utime = 0, stime = 0;
  if (p == NULL
      || sscanf (p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime)
          != 2)
    return -1;
  return (long long) (utime + stime);
}

/* Waits until the child sends something or closes the pipe (TRUE), or has
 * slept without using the CPU for stall_seconds (FALSE: deadlocked). */
static gboolean
child_answers (int fd, pid_t pid)
{
  long long last = child_cpu_ticks (pid);
  int still = 0;
  for (;;)
    {
      struct pollfd p = { fd, POLLIN, 0 };
      int n = poll (&p, 1, 1000);
      if (n != 0)
        {
          if (n < 0 && errno == EINTR)
            continue;
          return TRUE; /* data, end of file, or an error the read will report */
        }
      long long now = child_cpu_ticks (pid);
      if (now < 0 || now != last)
        {
          still = 0;
          last = now;
        }
      else if (++still >= stall_seconds)
        return FALSE;
    }
}

/* One fork. *stalled: the child deadlocked and was killed (no error set). */
static GazeIoDicom *
isolate_once (GazeIoDicomDecodeFunc decode, gpointer data, const char *what, gboolean *stalled,
              GError **error)
{
  int fds[2];
  GazeIoDicom *dicom = NULL;
  g_autofree char *message = NULL;
  guint8 ok = 0;
  int code = GAZE_IO_ERROR_CORRUPT, status = 0;
  pid_t pid;

  /* The error domain's quark before the fork: the child then takes no lock. */
  (void) GAZE_IO_ERROR;
  if (pipe2 (fds, O_CLOEXEC) != 0)
    {
      int saved = errno;
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT, "%s: cannot decode DICOM: %s", what,
                   g_strerror (saved));
      return NULL;
    }
  pid = fork ();
  if (pid == 0)
    {
      close (fds[0]);
      child (fds[1], decode, data);
    }
  close (fds[1]);
  if (pid < 0)
    {
      int saved = errno;
      close (fds[0]);
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT, "%s: cannot decode DICOM: %s", what,
                   g_strerror (saved));
      return NULL;
    }

  *stalled = FALSE;
  if (!child_answers (fds[0], pid))
    {
      *stalled = TRUE;
      kill (pid, SIGKILL);
      close (fds[0]);
      while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
      return NULL;
    }
  Reader r = { fds[0], FALSE };
  get (&r, &ok, 1);
  if (!r.failed && ok)
    dicom = get_dicom (&r);
  else if (!r.failed)
    {
      get (&r, &code, sizeof code);
      message = get_string (&r);
    }
  close (fds[0]);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;

  if (WIFSIGNALED (status))
    {
      g_clear_pointer (&dicom, gaze_io_dicom_free);
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                   "%s: malformed DICOM: the decoder stopped on it (%s)", what,
                   g_strsignal (WTERMSIG (status)));
      return NULL;
    }
  if (dicom != NULL)
    return dicom;
  if (message != NULL)
    {
      /* The child's message already names the file. */
      g_set_error_literal (error, GAZE_IO_ERROR, code, message);
      return NULL;
    }
  /* Exited without a whole result: a sanitizer's report (exit 1), a lost pipe. */
  g_clear_pointer (&dicom, gaze_io_dicom_free);
  g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
               "%s: malformed DICOM: the decoder stopped on it (exit %d)", what,
               WIFEXITED (status) ? WEXITSTATUS (status) : -1);
  return NULL;
}

GazeIoDicom *
gaze_io_dicom_isolate (GazeIoDicomDecodeFunc decode, gpointer data, const char *what,
                       GError **error)
{
  for (int attempt = 0; attempt < 3; attempt++)
    {
      gboolean stalled = FALSE;
      GazeIoDicom *dicom = isolate_once (decode, data, what, &stalled, error);
      if (!stalled)
        return dicom;
      g_debug ("%s: the DICOM decoder child stalled (attempt %d of 3), forking again", what,
               attempt + 1);
    }
  g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
               "%s: cannot decode DICOM: the decoder stopped answering (three tries)", what);
  return NULL;
}
