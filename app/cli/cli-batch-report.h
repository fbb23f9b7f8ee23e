/* cli-batch-report.h — the cohort report of a batch results folder (issue 18)
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

/* Reads DIR/results.jsonl and writes DIR/report.html and DIR/report.pdf, each
 * atomically (a temporary file in DIR, then rename). The report holds only
 * what the table holds: relative paths, classes, scores and map statistics. */
gboolean gz_cli_batch_report_write (const char *dir, GError **error);

/* `gaze-cli batch-report DIR` */
int gz_cli_batch_report (int argc, char **argv);
