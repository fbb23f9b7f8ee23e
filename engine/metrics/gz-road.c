/* gz-road.c — ROAD: remove and debias with noisy linear imputation
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Rong, Leemann, Borisov, Kasneci and Kasneci, "A Consistent and Efficient
 * Evaluation Strategy for Attribution Methods", ICML 2022. Removing pixels
 * by setting them to a constant leaks the removed shape to the model (the
 * score then measures the mask, not the attribution); ROAD fills the removed
 * pixels from their surroundings instead (section 4, "noisy linear
 * imputation"): each removed pixel is the weighted mean of its 8 neighbours,
 * 1/6 for the direct and 1/12 for the diagonal ones, which couples all the
 * removed pixels into one sparse linear system per channel with the kept
 * pixels as boundary values; Gaussian noise (std 0.01 in the normalised
 * input) is then added to the filled pixels.
 *
 * The system, per removed pixel k with in-image neighbours N(k):
 *   s_k·x_k − Σ_{j ∈ N(k) removed} w_kj·x_j = Σ_{j ∈ N(k) kept} w_kj·v_j,
 *   s_k = Σ_{j ∈ N(k)} w_kj,
 * is symmetric (w_kj = w_jk) and weakly diagonally dominant; every connected
 * set of removed pixels touches a kept one unless nothing is kept, so it is
 * positive definite and conjugate gradients apply. The plain Laplacian-like
 * matrix of a large removed blob is ill-conditioned, so CG is preconditioned
 * by symmetric SOR in the pixel order; over-relaxed (ω = 1.8) it needs about
 * 2.5 times fewer iterations than symmetric Gauss–Seidel (ω = 1; see
 * SSOR_OMEGA).
 *
 * Scores follow pytorch-grad-cam's ROADMostRelevantFirst/LeastRelevantFirst
 * and ROADCombined (which also define the percentile thresholds; see
 * gaze-metrics.h and tests/reference/CONVENTIONS.md). The 2n + 1 images (the
 * input, then n MoRF and n LeRF) are imputed in parallel on the engine's
 * threads and scored in batches.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gz-metrics-private.h"
#include "gz-random.h"
#include "gz-threads.h"

/* Neighbour offsets: the first four precede the pixel in row-major order
 * (the lower triangle of the system), the last four follow it. */
static const int NB_DY[8] = { -1, -1, -1, 0, 0, 1, 1, 1 };
static const int NB_DX[8] = { -1, 0, 1, -1, 1, -1, 0, 1 };
static const double NB_W[8]
    = { 1.0 / 12, 1.0 / 6, 1.0 / 12, 1.0 / 6, 1.0 / 6, 1.0 / 12, 1.0 / 6, 1.0 / 12 };

/* SSOR relaxation, measured on the 18 ROAD masks of the seeded resnet18's
 * Grad-CAM (224×224): ω = 1.0 needed 73…340 CG iterations, 1.5 44…200,
 * 1.85 34…134; CPU time of the whole metric at ω = 1.6/1.7/1.8/1.9:
 * 3.3/3.0/2.8/2.9 s. */
#define SSOR_OMEGA 1.8
#define CG_TOLERANCE 1e-10
#define CG_MAX_ITERATIONS 20000

/* The removed pixels of one image and their coupling. */
typedef struct
{
  int64_t h, w, n; /* n unknowns (removed pixels) */
  int64_t *pixel; /* [n] pixel index of unknown k, increasing */
  /* [n·8] unknown index of each neighbour; n when kept or outside: the
   * vectors have a zero at n, so the stencil loops need no branch. 32 bits:
   * the solver streams this table several times an iteration. */
  int32_t *nb;
  double *diag; /* [n] sum of the in-image neighbours' weights */
  double *inv_diag; /* [n] 1 / diag */
} RoadSystem;

static void
system_clear (RoadSystem *s)
{
  free (s->pixel);
  free (s->nb);
  free (s->diag);
  free (s->inv_diag);
  memset (s, 0, sizeof *s);
}

static bool
system_build (RoadSystem *s, const uint8_t *removed, int64_t h, int64_t w)
{
  memset (s, 0, sizeof *s);
  s->h = h;
  s->w = w;
  int64_t plane = h * w, n = 0;
  for (int64_t p = 0; p < plane; p++)
    n += removed[p] != 0;
  s->n = n;
  if (n >= INT32_MAX)
    return false;
  int64_t *index = malloc ((size_t) (plane > 0 ? plane : 1) * sizeof *index);
  s->pixel = malloc ((size_t) (n > 0 ? n : 1) * sizeof *s->pixel);
  s->nb = malloc ((size_t) (n > 0 ? n : 1) * 8 * sizeof *s->nb);
  s->diag = malloc ((size_t) (n > 0 ? n : 1) * sizeof *s->diag);
  s->inv_diag = malloc ((size_t) (n > 0 ? n : 1) * sizeof *s->inv_diag);
  if (index == NULL || s->pixel == NULL || s->nb == NULL || s->diag == NULL || s->inv_diag == NULL)
    {
      free (index);
      system_clear (s);
      return false;
    }
  int64_t k = 0;
  for (int64_t p = 0; p < plane; p++)
    {
      index[p] = removed[p] ? k : -1;
      if (removed[p])
        s->pixel[k++] = p;
    }
  for (k = 0; k < n; k++)
    {
      int64_t y = s->pixel[k] / w, x = s->pixel[k] % w;
      double d = 0;
      for (int j = 0; j < 8; j++)
        {
          int64_t yy = y + NB_DY[j], xx = x + NB_DX[j];
          bool inside = yy >= 0 && yy < h && xx >= 0 && xx < w;
          if (inside)
            d += NB_W[j];
          s->nb[k * 8 + j] = (int32_t) (inside && index[yy * w + xx] >= 0 ? index[yy * w + xx] : n);
        }
      s->diag[k] = d;
      s->inv_diag[k] = 1.0 / d;
    }
  free (index);
  return true;
}

/* q = A·p; returns p·q. */
static double
system_apply (const RoadSystem *s, const double *p, double *q)
{
  double pq = 0;
  for (int64_t k = 0; k < s->n; k++)
    {
      const int32_t *nb = s->nb + k * 8;
      double v = s->diag[k] * p[k];
      for (int j = 0; j < 8; j++)
        v -= NB_W[j] * p[nb[j]];
      q[k] = v;
      pq += p[k] * v;
    }
  return pq;
}

/* z = M⁻¹·r with the SSOR preconditioner M ∝ (D − ωL) D⁻¹ (D − ωU),
 * A = D − L − U: a forward sweep y = (D − ωL)⁻¹ r, then z = (D − ωU)⁻¹ D y.
 * (The usual factor 1/(ω(2 − ω)) of M is left out: CG's iterates do not
 * change when the preconditioner is scaled.) Returns r·z. */
static double
system_precondition (const RoadSystem *s, const double *r, double *z)
{
  const double om = SSOR_OMEGA;
  const double ow[8] = { om * NB_W[0], om * NB_W[1], om * NB_W[2], om * NB_W[3],
                         om * NB_W[4], om * NB_W[5], om * NB_W[6], om * NB_W[7] };
  for (int64_t k = 0; k < s->n; k++)
    {
      const int32_t *nb = s->nb + k * 8;
      double v = r[k];
      for (int j = 0; j < 4; j++)
        v += ow[j] * z[nb[j]];
      z[k] = v * s->inv_diag[k];
    }
  double rz = 0;
  for (int64_t k = s->n - 1; k >= 0; k--)
    {
      const int32_t *nb = s->nb + k * 8;
      double v = s->diag[k] * z[k];
      for (int j = 4; j < 8; j++)
        v += ow[j] * z[nb[j]];
      z[k] = v * s->inv_diag[k];
      rz += r[k] * z[k];
    }
  return rz;
}

static double
dot (const double *a, const double *b, int64_t n)
{
  double s = 0;
  for (int64_t i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

/* Fills the removed pixels of one channel (plane: kept pixels are read,
 * removed ones written) and adds the noise. False when out of memory. */
static bool
solve_channel (const RoadSystem *s, float *plane, double noise, uint64_t seed)
{
  int64_t n = s->n, w = s->w, h = s->h;
  if (n == 0)
    return true;
  /* Each vector has n + 1 entries, the last a zero (the stencil's "no
   * unknown there"). */
  int64_t len = n + 1;
  double *work = calloc ((size_t) len * 6, sizeof *work);
  if (work == NULL)
    return false;
  double *x = work, *r = work + len, *z = work + 2 * len, *p = work + 3 * len, *q = work + 4 * len,
         *b = work + 5 * len;
  for (int64_t k = 0; k < n; k++)
    {
      int64_t y0 = s->pixel[k] / w, x0 = s->pixel[k] % w;
      double v = 0;
      for (int j = 0; j < 8; j++)
        {
          int64_t yy = y0 + NB_DY[j], xx = x0 + NB_DX[j];
          if (yy >= 0 && yy < h && xx >= 0 && xx < w && s->nb[k * 8 + j] == n)
            v += NB_W[j] * (double) plane[yy * w + xx];
        }
      b[k] = v;
    }
  /* With nothing kept the system is singular (and b zero): x stays 0. */
  double bnorm = sqrt (dot (b, b, n));
  if (bnorm > 0 && n < h * w)
    {
      memcpy (r, b, (size_t) n * sizeof *r);
      double rz = system_precondition (s, r, z);
      memcpy (p, z, (size_t) n * sizeof *p);
      double limit = CG_TOLERANCE * CG_TOLERANCE * bnorm * bnorm;
      for (int it = 0; it < CG_MAX_ITERATIONS; it++)
        {
          double pq = system_apply (s, p, q);
          if (!(pq > 0))
            break;
          double alpha = rz / pq, rr = 0;
          for (int64_t k = 0; k < n; k++)
            {
              x[k] += alpha * p[k];
              r[k] -= alpha * q[k];
              rr += r[k] * r[k];
            }
          if (rr <= limit)
            break;
          double rz_new = system_precondition (s, r, z);
          double beta = rz_new / rz;
          rz = rz_new;
          for (int64_t k = 0; k < n; k++)
            p[k] = z[k] + beta * p[k];
        }
    }
  uint64_t state = seed;
  for (int64_t k = 0; k < n; k++)
    plane[s->pixel[k]] = (float) (x[k] + (noise > 0 ? noise * gz_random_normal (&state) : 0.0));
  free (work);
  return true;
}

/* One channel of one image: a unit of parallel work. */
typedef struct
{
  const RoadSystem *system;
  float *plane;
  uint64_t seed;
  bool ok;
} ChannelJob;

/* The jobs differ in size (10 % to 90 % of the pixels), so each thread
 * takes the next job when it is done rather than a fixed share. */
typedef struct
{
  ChannelJob *jobs;
  long n_jobs;
  double noise;
  atomic_long next;
} JobList;

static void
run_jobs (long begin, long end, void *data)
{
  (void) begin;
  (void) end;
  JobList *l = data;
  for (long i; (i = atomic_fetch_add (&l->next, 1)) < l->n_jobs;)
    l->jobs[i].ok = solve_channel (l->jobs[i].system, l->jobs[i].plane, l->noise, l->jobs[i].seed);
}

static void
run_all (ChannelJob *jobs, long n_jobs, double noise)
{
  JobList l = { jobs, n_jobs, noise, 0 };
  long threads = gz_get_threads ();
  gz_parallel_for (threads < n_jobs ? threads : n_jobs, 1, run_jobs, &l);
}

/* The noise stream of channel ch of the image with this seed. */
static uint64_t
channel_seed (uint64_t seed, int64_t ch)
{
  uint64_t s = seed ^ (0xD1B54A32D192ED03ull * (uint64_t) (ch + 1));
  return gz_random_next (&s);
}

GzStatus
gz_metric_road_impute (const float *in, int64_t c, int64_t h, int64_t w, const uint8_t *removed,
                       double noise, uint64_t seed, float *out, GzError *err)
{
  if (in == NULL || out == NULL || removed == NULL || c < 1 || h < 1 || w < 1)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "ROAD imputation: no image or mask");
  if (!(noise >= 0 && noise <= 1000))
    return gz_error_set (err, GZ_ERR_ARGUMENT, "ROAD noise must be in [0, 1000], not %g", noise);
  if (out != in)
    memcpy (out, in, (size_t) (c * h * w) * sizeof *out);
  RoadSystem s;
  ChannelJob *jobs = calloc ((size_t) c, sizeof *jobs);
  if (jobs == NULL || !system_build (&s, removed, h, w))
    {
      free (jobs);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  for (int64_t ch = 0; ch < c; ch++)
    jobs[ch] = (ChannelJob){ &s, out + ch * h * w, channel_seed (seed, ch), false };
  run_all (jobs, (long) c, noise);
  GzStatus st = GZ_OK;
  for (int64_t ch = 0; ch < c; ch++)
    if (!jobs[ch].ok)
      st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  free (jobs);
  system_clear (&s);
  return st;
}

/* numpy.percentile's default ("linear") of sorted values v[0…n−1], q in %. */
static double
percentile (const double *v, int64_t n, double q)
{
  double pos = (double) (n - 1) * q / 100.0;
  int64_t lo = (int64_t) floor (pos);
  if (lo >= n - 1)
    return v[n - 1];
  double t = pos - (double) lo;
  return v[lo] + t * (v[lo + 1] - v[lo]);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static GzStatus
check_road_options (const GzRoadOptions *ro, GzError *err)
{
  if (ro->n_percentiles < 1 || ro->n_percentiles > GZ_ROAD_MAX_PERCENTILES)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "ROAD needs 1…%d percentiles, not %d",
                         GZ_ROAD_MAX_PERCENTILES, ro->n_percentiles);
  for (int i = 0; i < ro->n_percentiles; i++)
    if (!(ro->percentiles[i] > 0 && ro->percentiles[i] < 100))
      return gz_error_set (err, GZ_ERR_ARGUMENT, "ROAD percentiles must be in (0, 100), not %g",
                           ro->percentiles[i]);
  if (!(ro->noise >= 0 && ro->noise <= 1000))
    return gz_error_set (err, GZ_ERR_ARGUMENT, "ROAD noise must be in [0, 1000], not %g",
                         ro->noise);
  return GZ_OK;
}

GzStatus
gz_metric_road (const GzModel *model, const GzTensor *input, const GzTensor *map, int class_index,
                const GzMetricOptions *options, const GzRoadOptions *road, GzRoad *out,
                GzError *err)
{
  if (options == NULL || road == NULL || out == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "ROAD: no options or result");
  GzStatus st = check_road_options (road, err);
  if (st != GZ_OK)
    return st;
  int n = road->n_percentiles, total = 2 * n + 1;
  /* Equal batches of at most 8, as deletion (gz-deletion.c). */
  int n_batches = (total + 7) / 8;
  int max_batch = (total + n_batches - 1) / n_batches;
  GzMetricRunner r;
  st = gz_metric_runner_init (&r, model, input, class_index, options, max_batch, "ROAD", err);
  if (st != GZ_OK)
    {
      gz_metric_runner_clear (&r);
      return st;
    }
  int64_t plane = r.height * r.width, per = r.channels * plane, nb_max = r.batch_size;
  GzTensor *m = gz_metric_map_at (map, r.height, r.width, err);
  double *values = malloc ((size_t) plane * sizeof *values);
  double *sorted = malloc ((size_t) plane * sizeof *sorted);
  double *probs = malloc ((size_t) nb_max * sizeof *probs);
  double *scores = calloc ((size_t) total, sizeof *scores);
  uint8_t *removed = malloc ((size_t) plane);
  RoadSystem *systems = calloc ((size_t) nb_max, sizeof *systems);
  ChannelJob *jobs = calloc ((size_t) (nb_max * r.channels), sizeof *jobs);
  if (m == NULL)
    {
      st = err != NULL && err->code != GZ_OK ? err->code : GZ_ERR_NOMEM;
      goto out;
    }
  if (values == NULL || sorted == NULL || probs == NULL || scores == NULL || removed == NULL
      || systems == NULL || jobs == NULL)
    {
      st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      goto out;
    }
  const float *mv = gz_tensor_f (m);
  for (int64_t p = 0; p < plane; p++)
    values[p] = isnan (mv[p]) ? -INFINITY : (double) mv[p];
  memcpy (sorted, values, (size_t) plane * sizeof *sorted);
  qsort (sorted, (size_t) plane, sizeof *sorted, cmp_double);
  const float *x = gz_tensor_f (input);
  for (int t0 = 0; t0 < total; t0 += (int) nb_max)
    {
      int nb = total - t0 < nb_max ? total - t0 : (int) nb_max, n_jobs = 0;
      for (int j = 0; j < nb; j++)
        {
          int t = t0 + j;
          float *slot = gz_metric_runner_slot (&r, j);
          memcpy (slot, x, (size_t) per * sizeof *slot);
          if (t == 0)
            continue; /* the input itself: y */
          bool lerf = t > n;
          double q = road->percentiles[lerf ? t - n - 1 : t - 1];
          /* MoRF: the top q %, v ≥ percentile(100 − q) (pytorch-grad-cam keeps
           * v < percentile(100 − q)); LeRF: the bottom q %, v ≤ percentile(q)
           * (pytorch-grad-cam keeps 1 − v < percentile(1 − v, 100 − q)). */
          double thr = percentile (sorted, plane, lerf ? q : 100.0 - q);
          for (int64_t p = 0; p < plane; p++)
            removed[p] = lerf ? values[p] <= thr : values[p] >= thr;
          if (!system_build (&systems[j], removed, r.height, r.width))
            {
              st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
              goto out;
            }
          uint64_t image_seed = road->seed + 0x9E3779B97F4A7C15ull * (uint64_t) t;
          for (int64_t ch = 0; ch < r.channels; ch++)
            jobs[n_jobs++] = (ChannelJob){ &systems[j], slot + ch * plane,
                                           channel_seed (image_seed, ch), false };
        }
      run_all (jobs, n_jobs, road->noise);
      for (int i = 0; i < n_jobs; i++)
        if (!jobs[i].ok)
          {
            st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
            goto out;
          }
      for (int j = 0; j < nb; j++)
        {
          system_clear (&systems[j]);
          int t = t0 + j;
          if (t > 0 && road->imputed != NULL)
            road->imputed (t > n, t > n ? t - n - 1 : t - 1, gz_metric_runner_slot (&r, j),
                           road->imputed_data);
        }
      if ((st = gz_metric_runner_score (&r, nb, probs, err)) != GZ_OK)
        goto out;
      memcpy (scores + t0, probs, (size_t) nb * sizeof *probs);
      if ((st = gz_metric_progress (&r, (double) (t0 + nb) / (double) total, err)) != GZ_OK)
        goto out;
    }
  out->y = scores[0];
  double sm = 0, sl = 0;
  for (int i = 0; i < n; i++)
    {
      out->morf[i] = scores[1 + i];
      out->lerf[i] = scores[1 + n + i];
      sm += out->morf[i] - out->y;
      sl += out->lerf[i] - out->y;
    }
  out->morf_mean = sm / n;
  out->lerf_mean = sl / n;
  out->combined = (out->lerf_mean - out->morf_mean) / 2.0;
  st = GZ_OK;
out:
  for (int64_t j = 0; systems != NULL && j < nb_max; j++)
    system_clear (&systems[j]);
  gz_tensor_free (m);
  free (values);
  free (sorted);
  free (probs);
  free (scores);
  free (removed);
  free (systems);
  free (jobs);
  gz_metric_runner_clear (&r);
  return st;
}
