/* gz-state-dict.c — a state dict: named float32 tensors read from a weights file
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gz-state-dict.h"

void
gz_state_dict_free (GzStateDict *sd)
{
  for (int i = 0; i < sd->n; i++)
    {
      free (sd->w[i].name);
      if (!sd->w[i].taken)
        gz_tensor_free (sd->w[i].t);
    }
  free (sd->w);
  memset (sd, 0, sizeof *sd);
}

GzStatus
gz_state_dict_add (GzStateDict *sd, const char *name, size_t name_len, GzTensor *t, GzError *err)
{
  if (sd->n >= sd->cap)
    {
      int cap = sd->cap ? sd->cap * 2 : 64;
      GzWeight *w = realloc (sd->w, (size_t) cap * sizeof *w);
      if (w == NULL)
        {
          gz_tensor_free (t);
          return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
        }
      sd->w = w;
      sd->cap = cap;
    }
  char *n = malloc (name_len + 1);
  if (n == NULL)
    {
      gz_tensor_free (t);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  memcpy (n, name, name_len);
  n[name_len] = '\0';
  sd->w[sd->n].name = n;
  sd->w[sd->n].t = t;
  sd->w[sd->n].taken = false;
  sd->n++;
  return GZ_OK;
}

const GzTensor *
gz_state_dict_get (const GzStateDict *sd, const char *name)
{
  for (int i = 0; i < sd->n; i++)
    if (sd->w[i].t != NULL && strcmp (sd->w[i].name, name) == 0)
      return sd->w[i].t;
  return NULL;
}

bool
gz_state_dict_strip_prefix (GzStateDict *sd, const char *prefix)
{
  size_t n = strlen (prefix);
  if (sd->n == 0)
    return false;
  for (int i = 0; i < sd->n; i++)
    if (strncmp (sd->w[i].name, prefix, n) != 0)
      return false;
  for (int i = 0; i < sd->n; i++)
    memmove (sd->w[i].name, sd->w[i].name + n, strlen (sd->w[i].name + n) + 1);
  return true;
}

float
gz_half_to_float (uint16_t h)
{
  uint32_t sign = (uint32_t) (h >> 15);
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  float f;
  if (exponent == 0)
    f = ldexpf ((float) mantissa, -24);
  else if (exponent == 31)
    f = mantissa ? NAN : INFINITY;
  else
    f = ldexpf ((float) (mantissa | 0x400), (int) exponent - 25);
  return sign ? -f : f;
}

float
gz_bfloat16_to_float (uint16_t h)
{
  uint32_t bits = (uint32_t) h << 16;
  float f;
  memcpy (&f, &bits, sizeof f);
  return f;
}
