/* gaze-cli.h — the subcommands of gaze-cli
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each subcommand lives in its own cli-NAME.c and returns the process exit
 * status: 0 on success, 1 on bad input (after printing one line to stderr),
 * 2 on a usage error.
 */
#pragma once

/* Prints "PREFIX MESSAGE" as one line on stderr; when the message names a
 * resource limit ("the nodes limit"), adds how to raise it. */
void gz_cli_fail (const char *prefix, const char *message);

int gz_cli_info (int argc, char **argv);
int gz_cli_predict (int argc, char **argv);
int gz_cli_explain (int argc, char **argv);
int gz_cli_bench (int argc, char **argv);

/* -- issue 18: `gaze-cli batch` and `batch-merge` (cli-batch.c) -- */
int gz_cli_batch (int argc, char **argv);
int gz_cli_batch_merge (int argc, char **argv);
/* -- end issue 18 -- */
/* issue 16 */
int gz_cli_metrics (int argc, char **argv);
