/* gaze-cli.c — the headless entry point: dispatches to a subcommand
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli-batch-report.h"
#include "gaze-cli.h"
#include "gaze-engine.h"

typedef struct
{
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} Subcommand;

static const Subcommand subcommands[] = {
  { "info", gz_cli_info, "Show a model's inputs, outputs, nodes and default layer" },
  { "predict", gz_cli_predict, "Classify images: top classes with probabilities" },
  { "explain", gz_cli_explain, "Explain a class: CAM-family heatmaps, overlay PNG, .npy maps" },
  { "bench", gz_cli_bench, "Time load, forward, explanation and class switch (medians)" },
  /* issue 18: cohorts */
  { "batch", gz_cli_batch, "Explain a folder or manifest of images: overlays and one table" },
  { "batch-merge", gz_cli_batch_merge, "Join the output folders of 'batch --shard' runs" },
  { "batch-report", gz_cli_batch_report, "Write a batch folder's report.html and report.pdf" },
  /* issue 16: faithfulness metrics (cli-metrics.c) */
  { "metrics", gz_cli_metrics,
    "Faithfulness of a map: deletion/insertion AUC, ROAD, Average Drop" },
  { NULL, NULL, NULL },
};

void
gz_cli_fail (const char *prefix, const char *message)
{
  const char *key = gz_limits_key_in (message);
  if (key != NULL)
    fprintf (stderr, "%s%s (raise it with --limits %s=N or GAZE_LIMITS=%s=N)\n", prefix, message,
             key, key);
  else
    fprintf (stderr, "%s%s\n", prefix, message);
}

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: gaze-cli COMMAND [OPTION…]\n\nCommands:\n");
  for (const Subcommand *c = subcommands; c->name != NULL; c++)
    fprintf (out, "  %-12s %s\n", c->name, c->summary);
  fprintf (out, "\nRun 'gaze-cli COMMAND --help' for a command's options.\n");
}

int
main (int argc, char **argv)
{
  /* GLib prints in the locale's charset; in the plain C locale every "…" in
   * our help would turn into "?", so prefer Debian's always-present C.UTF-8.
   * Only the character type: numbers keep the C locale ("0.5", never "0,5"),
   * which scripts parsing our output rely on. */
  setlocale (LC_CTYPE, "");
  if (strcmp (nl_langinfo (CODESET), "UTF-8") != 0)
    setlocale (LC_CTYPE, "C.UTF-8");
  if (argc < 2)
    {
      print_usage (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      print_usage (stdout);
      return 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("gaze-cli %s\n", PACKAGE_VERSION);
      return 0;
    }
  for (const Subcommand *c = subcommands; c->name != NULL; c++)
    if (strcmp (argv[1], c->name) == 0)
      {
        g_autofree char *prgname = g_strdup_printf ("gaze-cli %s", c->name);
        g_set_prgname (prgname);
        return c->run (argc - 1, argv + 1);
      }
  fprintf (stderr, "gaze-cli: unknown command '%s'\n", argv[1]);
  print_usage (stderr);
  return 2;
}
