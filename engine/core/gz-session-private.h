/* gz-session-private.h — what the explanation code may ask a session
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gaze-engine.h"

/* How many forward passes this session has run (tests check that a class
 * switch does not run another). */
uint64_t gz_session_forward_count (const GzSession *session);
/* The input of the last forward (the session keeps it), NULL before one. */
const GzTensor *gz_session_input (const GzSession *session);
/* The keep_layer of the last forward ("*", a tensor name, or NULL). */
const char *gz_session_keep (const GzSession *session);

/* One memo an explanation method may leave on the session for later calls on
 * the same image: Score-CAM's masked-forward logits do not depend on the
 * class, so a class switch needs none of its forwards again. The session
 * frees the memo (free_fn) when a forward brings a different input (dims or
 * bytes), when a forward fails, when another memo is set, and with itself. */
void gz_session_set_memo (GzSession *session, void *memo, void (*free_fn) (void *));
/* The memo, if it was set with this free_fn (which tells its type), else NULL. */
void *gz_session_memo (const GzSession *session, void (*free_fn) (void *));
