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
