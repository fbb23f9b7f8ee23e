/* gz-threads.h — the engine's thread pool and per-thread scratch memory
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The pool is sized by gz_set_threads (gaze-engine.h).
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Runs fn(begin, end, data) over [0, n) split into contiguous chunks, one per
 * engine thread (gz_set_threads); runs inline when n is small or one thread. */
typedef void (*GzRangeFn) (long begin, long end, void *data);
void gz_parallel_for (long n, long min_chunk, GzRangeFn fn, void *data);

/* True inside a gz_parallel_for chunk (in a worker, or the caller's own
 * chunk): a split there would run inline anyway. */
bool gz_in_parallel (void);

/* Scratch memory for operators (im2col matrices): a per-thread block reused
 * from call to call up to 32 MiB, so that a forward pass neither maps nor
 * faults in fresh pages per operator (nor depends on glibc's trim and mmap
 * thresholds). Larger requests are plain malloc. Returns NULL when out of
 * memory; give the block back with gz_scratch_put before the next get on the
 * same thread. */
float *gz_scratch_get (size_t n_floats);
void gz_scratch_put (float *p);

/* Per-thread blocks (the scratch above, GEMM packing buffers) must not
 * outlive their thread: GLib's pools retire idle threads, and a block kept in
 * a _Thread_local alone would leak. One static GzThreadKey per kind of block;
 * gz_thread_owns makes `block` (malloc'd, or NULL) the calling thread's, freed
 * when the thread ends. */
typedef struct
{
  bool made, ok;
  pthread_key_t key;
} GzThreadKey;
void gz_thread_owns (GzThreadKey *key, void *block);
