/* gz-logits.c — ranking classes by their logits, with probabilities by output kind
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The one ranking of the project: gz_explain (top-1 target and its
 * probability), gaze-cli predict and the viewer's prediction list. The logits
 * are always pre-activation (gz-model.c removes a trailing Sigmoid / Softmax /
 * LogSoftmax); the kind says which activation makes the probabilities.
 */
#include <math.h>
#include <string.h>

#include "gaze-engine.h"

/* a ranks before b: higher logit, then lower index; NaN after any number. */
static bool
before (float la, int64_t ia, float lb, int64_t ib)
{
  if (isnan (la) || isnan (lb))
    return isnan (la) == isnan (lb) ? ia < ib : !isnan (la);
  return la != lb ? la > lb : ia < ib;
}

/* Σ exp(l - max) and max, over the logits. */
static double
softmax_sum (const float *logits, int64_t n, double *max)
{
  double mx = logits[0];
  for (int64_t i = 1; i < n; i++)
    if (logits[i] > mx)
      mx = logits[i];
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++)
    sum += exp ((double) logits[i] - mx);
  *max = mx;
  return sum;
}

static const char *const kind_names[GZ_OUTPUT_KIND_COUNT] = {
  [GZ_OUTPUT_LOGITS] = "logits",
  [GZ_OUTPUT_SOFTMAX] = "softmax",
  [GZ_OUTPUT_LOG_SOFTMAX] = "log-softmax",
  [GZ_OUTPUT_SIGMOID] = "sigmoid",
};

const char *
gz_output_kind_name (GzOutputKind kind)
{
  return kind >= 0 && kind < GZ_OUTPUT_KIND_COUNT ? kind_names[kind] : "logits";
}

bool
gz_output_kind_from_name (const char *name, GzOutputKind *kind)
{
  if (name == NULL)
    return false;
  if (strcmp (name, "multilabel") == 0 || strcmp (name, "multi-label") == 0
      || strcmp (name, "binary") == 0)
    {
      *kind = GZ_OUTPUT_SIGMOID;
      return true;
    }
  for (int i = 0; i < GZ_OUTPUT_KIND_COUNT; i++)
    if (strcmp (name, kind_names[i]) == 0)
      {
        *kind = (GzOutputKind) i;
        return true;
      }
  return false;
}

const char *
gz_output_kind_describe (GzOutputKind kind, int64_t n)
{
  if (kind == GZ_OUTPUT_SIGMOID)
    return n == 1 ? "binary" : "multilabel";
  return gz_output_kind_name (kind);
}

static double
sigmoid (float x)
{
  return 1.0 / (1.0 + exp (-(double) x));
}

double
gz_logits_probability (const float *logits, int64_t n, int64_t index, GzOutputKind kind)
{
  if (logits == NULL || index < 0 || index >= n)
    return NAN;
  if (n == 1 || kind == GZ_OUTPUT_SIGMOID)
    return sigmoid (logits[index]);
  double mx;
  double sum = softmax_sum (logits, n, &mx);
  return exp ((double) logits[index] - mx) / sum;
}

int
gz_logits_top_k (const float *logits, int64_t n, int k, GzOutputKind kind, GzClassScore *out)
{
  if (logits == NULL || n < 1 || k < 1)
    return 0;
  if (n == 1)
    {
      out[0] = (GzClassScore){ 0, logits[0], sigmoid (logits[0]) };
      return 1;
    }
  /* Insertion into the k kept so far: O(n) while most logits fall below the
   * k-th, O(n·k) at worst. */
  int kept = 0;
  for (int64_t i = 0; i < n; i++)
    {
      if (kept == k && !before (logits[i], i, out[k - 1].logit, out[k - 1].index))
        continue;
      int at = kept < k ? kept++ : k - 1;
      while (at > 0 && before (logits[i], i, out[at - 1].logit, out[at - 1].index))
        {
          out[at] = out[at - 1];
          at--;
        }
      out[at] = (GzClassScore){ i, logits[i], 0.0 };
    }
  if (kind == GZ_OUTPUT_SIGMOID)
    {
      for (int j = 0; j < kept; j++)
        out[j].probability = sigmoid (out[j].logit);
      return kept;
    }
  double mx;
  double sum = softmax_sum (logits, n, &mx);
  for (int j = 0; j < kept; j++)
    out[j].probability = exp ((double) out[j].logit - mx) / sum;
  return kept;
}
