/* gz-threads.c — the engine's persistent thread pool and per-thread scratch
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One pool of (threads - 1) workers serves gz_parallel_for and so the
 * engine's own GEMM (gz-gemm.c) and the operators. Two thread pools on the
 * same cores (OpenBLAS's spinning after each call, ours during the next
 * operator) slow each other down, so OpenBLAS runs single-threaded (gz-blas.c)
 * and a GEMM called from inside a parallel region simply runs inline.
 *
 * Workers spin briefly on a generation counter before sleeping on a condition
 * variable: operators follow each other within microseconds during a forward
 * pass, and a futex wake-up per operator would cost more than the spin.
 * GAZE_PIN_THREADS=1 pins the workers (and the thread that sizes the pool)
 * to distinct CPUs of the process's affinity mask, so that the scheduler
 * cannot stack them on one core.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gaze-engine.h"
#include "gz-threads.h"

enum
{
  MAX_THREADS = 64
};
/* ~60 µs of PAUSE on Zen 5. A worker that sleeps between two operators is
 * woken through the hypervisor here (an idle vCPU halts), which cost more
 * than small operators take: 2-thread MobileNetV2 forward 5.7-5.9 ms with 500
 * rounds, 4.7-4.9 with 2000, 4.6-4.7 with 5000 (efficientnet_b0 8.9 -> 7.6).
 * Much longer spins hurt on a loaded machine (the threaded ops-nn test took
 * 100 s with 20000 rounds when jobs oversubscribed the cores); with more
 * threads than CPUs the pool does not spin at all. */
enum
{
  SPIN_DEFAULT = 4000
};
static atomic_int spin_rounds = SPIN_DEFAULT;

typedef struct
{
  pthread_mutex_t run_lock; /* one caller at a time uses the workers */
  pthread_mutex_t m;
  pthread_cond_t start_cv, done_cv;
  pthread_t tids[MAX_THREADS];
  int n_workers; /* threads started */
  atomic_uint gen; /* bumped for each job (and for quit) */
  atomic_int pending; /* workers yet to acknowledge the current job */
  atomic_bool quit;
  /* The current job: parts [0, parts) of [0, n); part 0 runs in the caller. */
  GzRangeFn fn;
  void *data;
  long n;
  int parts;
} Pool;

static Pool pool = {
  .run_lock = PTHREAD_MUTEX_INITIALIZER,
  .m = PTHREAD_MUTEX_INITIALIZER,
  .start_cv = PTHREAD_COND_INITIALIZER,
  .done_cv = PTHREAD_COND_INITIALIZER,
};
static atomic_int engine_threads = 1;
static _Thread_local bool in_parallel; /* nested calls run inline */

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

static bool
pin_wanted (void)
{
  const char *s = getenv ("GAZE_PIN_THREADS");
  return s != NULL && strcmp (s, "1") == 0;
}

/* Pins the calling thread to the index-th CPU of the process's affinity mask. */
static void
pin_to (const cpu_set_t *allowed, int index)
{
  int count = CPU_COUNT (allowed);
  if (count <= 0)
    return;
  index %= count;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET (cpu, allowed) && index-- == 0)
      {
        cpu_set_t one;
        CPU_ZERO (&one);
        CPU_SET (cpu, &one);
        pthread_setaffinity_np (pthread_self (), sizeof one, &one);
        return;
      }
}

typedef struct
{
  int id; /* 1 .. n_workers: the part this worker runs */
  unsigned gen; /* the generation before the worker's first job */
  bool pin;
  cpu_set_t allowed;
} WorkerArg;

static void *
worker_main (void *p)
{
  WorkerArg arg = *(WorkerArg *) p;
  free (p);
  if (arg.pin)
    pin_to (&arg.allowed, arg.id);
  in_parallel = true;
  unsigned seen = arg.gen;
  for (;;)
    {
      unsigned g;
      int spins = 0;
      while ((g = atomic_load_explicit (&pool.gen, memory_order_acquire)) == seen
             && spins++ < spin_rounds)
        cpu_relax ();
      if (g == seen)
        {
          pthread_mutex_lock (&pool.m);
          while ((g = atomic_load (&pool.gen)) == seen)
            pthread_cond_wait (&pool.start_cv, &pool.m);
          pthread_mutex_unlock (&pool.m);
        }
      seen = g;
      if (atomic_load (&pool.quit))
        return NULL;
      /* Every worker acknowledges every job, taking part or not, so that the
       * caller never rewrites the job under a late reader. */
      if (arg.id < pool.parts)
        {
          long b = pool.n * arg.id / pool.parts, e = pool.n * (arg.id + 1) / pool.parts;
          pool.fn (b, e, pool.data);
        }
      if (atomic_fetch_sub_explicit (&pool.pending, 1, memory_order_acq_rel) == 1)
        {
          pthread_mutex_lock (&pool.m);
          pthread_cond_broadcast (&pool.done_cv);
          pthread_mutex_unlock (&pool.m);
        }
    }
}

/* Called with run_lock held. */
static void
pool_stop (void)
{
  if (pool.n_workers == 0)
    return;
  pthread_mutex_lock (&pool.m);
  atomic_store (&pool.quit, true);
  atomic_fetch_add (&pool.gen, 1);
  pthread_cond_broadcast (&pool.start_cv);
  pthread_mutex_unlock (&pool.m);
  for (int i = 0; i < pool.n_workers; i++)
    pthread_join (pool.tids[i], NULL);
  pool.n_workers = 0;
  atomic_store (&pool.quit, false);
}

/* Called with run_lock held: starts up to want workers (fewer if the system
 * refuses; gz_parallel_for then uses what it has). */
static void
pool_start (int want)
{
  bool pin = pin_wanted ();
  /* The mask as it was before we pinned the calling thread to its first
   * CPU: a later gz_set_threads must not place every worker on that CPU. */
  static cpu_set_t original;
  static bool have_mask;
  static bool asked;
  if (!asked)
    {
      CPU_ZERO (&original);
      have_mask = sched_getaffinity (0, sizeof original, &original) == 0;
      asked = true;
    }
  cpu_set_t allowed = original;
  pin = pin && have_mask;
  /* More threads than CPUs: a spinning thread would take the core from the
   * one that has the work. */
  spin_rounds = have_mask && want + 1 > CPU_COUNT (&allowed) ? 0 : SPIN_DEFAULT;
  const char *spin_env = getenv ("GAZE_SPIN_ROUNDS"); /* for tuning */
  if (spin_env != NULL)
    spin_rounds = atoi (spin_env);
  if (pin)
    pin_to (&allowed, 0);
  for (int i = 0; i < want && i < MAX_THREADS - 1; i++)
    {
      WorkerArg *arg = malloc (sizeof *arg);
      if (arg == NULL)
        break;
      *arg = (WorkerArg){
        .id = i + 1, .gen = atomic_load (&pool.gen), .pin = pin, .allowed = allowed
      };
      if (pthread_create (&pool.tids[i], NULL, worker_main, arg) != 0)
        {
          free (arg);
          break;
        }
      pool.n_workers = i + 1;
    }
}

void
gz_set_threads (int n)
{
  if (n < 1)
    n = 1;
  if (n > MAX_THREADS)
    n = MAX_THREADS;
  pthread_mutex_lock (&pool.run_lock);
  atomic_store (&engine_threads, n);
  if (pool.n_workers != n - 1)
    {
      pool_stop ();
      pool_start (n - 1);
    }
  pthread_mutex_unlock (&pool.run_lock);
}

int
gz_get_threads (void)
{
  return atomic_load (&engine_threads);
}

bool
gz_in_parallel (void)
{
  return in_parallel;
}

void
gz_parallel_for (long n, long min_chunk, GzRangeFn fn, void *data)
{
  if (n <= 0)
    return;
  if (min_chunk < 1)
    min_chunk = 1;
  int threads = gz_get_threads ();
  if (threads > n / min_chunk)
    threads = (int) (n / min_chunk);
  /* Nested, single-threaded, or the pool is busy with another caller (a
   * second session on another thread): run here. */
  if (threads <= 1 || in_parallel || pthread_mutex_trylock (&pool.run_lock) != 0)
    {
      fn (0, n, data);
      return;
    }
  if (threads > pool.n_workers + 1)
    threads = pool.n_workers + 1;
  if (threads <= 1)
    {
      pthread_mutex_unlock (&pool.run_lock);
      fn (0, n, data);
      return;
    }
  pool.fn = fn;
  pool.data = data;
  pool.n = n;
  pool.parts = threads;
  atomic_store (&pool.pending, pool.n_workers);
  pthread_mutex_lock (&pool.m);
  atomic_fetch_add_explicit (&pool.gen, 1, memory_order_release);
  pthread_cond_broadcast (&pool.start_cv);
  pthread_mutex_unlock (&pool.m);

  in_parallel = true;
  fn (0, n / threads, data);
  in_parallel = false;

  for (int spins = 0;
       atomic_load_explicit (&pool.pending, memory_order_acquire) > 0 && spins < spin_rounds;
       spins++)
    cpu_relax ();
  if (atomic_load (&pool.pending) > 0)
    {
      pthread_mutex_lock (&pool.m);
      while (atomic_load (&pool.pending) > 0)
        pthread_cond_wait (&pool.done_cv, &pool.m);
      pthread_mutex_unlock (&pool.m);
    }
  pthread_mutex_unlock (&pool.run_lock);
}

/* ---- Scratch ------------------------------------------------------------- */

enum
{
  SCRATCH_KEEP = 8 << 20
}; /* floats: 32 MiB */
static _Thread_local float *scratch;
static _Thread_local size_t scratch_cap;
static _Thread_local bool scratch_out;
static GzThreadKey scratch_key;

void
gz_thread_owns (GzThreadKey *k, void *block)
{
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock (&lock);
  if (!k->made)
    {
      k->ok = pthread_key_create (&k->key, free) == 0;
      k->made = true;
    }
  bool ok = k->ok;
  pthread_mutex_unlock (&lock);
  if (ok)
    pthread_setspecific (k->key, block);
}

float *
gz_scratch_get (size_t n)
{
  if (n == 0)
    n = 1;
  if (n > SIZE_MAX / sizeof (float))
    return NULL;
  if (n > SCRATCH_KEEP || scratch_out)
    return malloc (n * sizeof (float));
  if (n > scratch_cap)
    {
      free (scratch);
      scratch = malloc (n * sizeof (float));
      scratch_cap = scratch != NULL ? n : 0;
      gz_thread_owns (&scratch_key, scratch);
      if (scratch == NULL)
        return NULL;
    }
  scratch_out = true;
  return scratch;
}

void
gz_scratch_put (float *p)
{
  if (p != NULL && p == scratch)
    scratch_out = false;
  else
    free (p);
}
