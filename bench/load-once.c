/* load-once.c — one gz_model_load of one file, timed, with the process's peak
 * memory before and after: bench/run's --load rows (issue 20: a .pth against
 * its ONNX export). A process of its own per measurement, so that each load
 * starts from the same empty heap and its peak RSS is its own.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Prints one JSON line: load_ms, load_cpu_ms (user + system time: what a busy
 * machine does not inflate), file_bytes, rss_before_kib (the process
 * before loading), peak_rss_kib (its high-water mark, VmHWM: getrusage's
 * ru_maxrss would carry the peak of the process that exec'd this one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "gaze-engine.h"

static long
peak_rss_kib (void)
{
  FILE *f = fopen ("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f != NULL && fgets (line, sizeof line, f) != NULL)
    if (strncmp (line, "VmHWM:", 6) == 0)
      kib = strtol (line + 6, NULL, 10);
  if (f != NULL)
    fclose (f);
  return kib;
}

static double
cpu_ms (void)
{
  struct rusage ru;
  if (getrusage (RUSAGE_SELF, &ru) != 0)
    return 0;
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3
      + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, "usage: load-once MODEL\n");
      return 2;
    }
  struct stat st;
  if (stat (argv[1], &st) != 0)
    {
      perror (argv[1]);
      return 1;
    }
  long before = peak_rss_kib ();
  GzError err = { 0 };
  GzModel *model = NULL;
  double t0 = now_ms (), c0 = cpu_ms ();
  GzStatus s = gz_model_load (argv[1], NULL, &model, &err);
  double ms = now_ms () - t0, cpu = cpu_ms () - c0;
  if (s != GZ_OK)
    {
      fprintf (stderr, "load-once: %s\n", err.message);
      return 1;
    }
  printf (
      "{\"load_ms\": %.3f, \"load_cpu_ms\": %.3f, \"file_bytes\": %lld, \"rss_before_kib\": %ld, "
      "\"peak_rss_kib\": %ld, \"parameters\": %lld}\n",
      ms, cpu, (long long) st.st_size, before, peak_rss_kib (),
      (long long) gz_model_parameter_count (model));
  gz_model_free (model);
  return 0;
}
