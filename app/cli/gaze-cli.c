/* gaze-cli.c — the headless entry point: dispatches to a subcommand
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "gaze-cli.h"

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
  { NULL, NULL, NULL },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: gaze-cli COMMAND [OPTION…]\n\nCommands:\n");
  for (const Subcommand *c = subcommands; c->name != NULL; c++)
    fprintf (out, "  %-10s %s\n", c->name, c->summary);
  fprintf (out, "\nRun 'gaze-cli COMMAND --help' for a command's options.\n");
}

int
main (int argc, char **argv)
{
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
      return c->run (argc - 1, argv + 1);
  fprintf (stderr, "gaze-cli: unknown command '%s'\n", argv[1]);
  print_usage (stderr);
  return 2;
}
