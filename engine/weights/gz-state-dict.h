/* gz-state-dict.h — a state dict: named float32 tensors read from a weights file
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gaze-engine.h"

typedef struct
{
  char *name;
  GzTensor *t; /* float32, contiguous */
  bool taken; /* t now belongs to a graph: not freed with the state dict */
} GzWeight;

typedef struct
{
  int n, cap;
  GzWeight *w;
} GzStateDict;

void gz_state_dict_free (GzStateDict *sd);
/* Takes ownership of t (freed on failure too). */
GzStatus gz_state_dict_add (GzStateDict *sd, const char *name, size_t name_len, GzTensor *t,
                            GzError *err);
/* NULL when absent. */
const GzTensor *gz_state_dict_get (const GzStateDict *sd, const char *name);
/* Removes `prefix` from every key when every key starts with it; true if done. */
bool gz_state_dict_strip_prefix (GzStateDict *sd, const char *prefix);

/* Half and bfloat16 bit patterns to float. */
float gz_half_to_float (uint16_t h);
float gz_bfloat16_to_float (uint16_t h);
