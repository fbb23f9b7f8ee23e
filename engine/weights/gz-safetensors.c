/* gz-safetensors.c — the safetensors format: u64 header length, JSON header, raw data
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The header is a JSON object {"name": {"dtype": "F32", "shape": [..],
 * "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}. The small
 * strict parser below reads just that shape of JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "gz-limits.h"
#include "gz-safetensors.h"

typedef struct
{
  const char *p, *end;
  GzError *err;
} Js;

static void
ws (Js *j)
{
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
    j->p++;
}

static bool
eat (Js *j, char c)
{
  ws (j);
  if (j->p < j->end && *j->p == c)
    {
      j->p++;
      return true;
    }
  return false;
}

/* A string without escapes other than \" \\ \/ (names of tensors are plain);
 * points into the header. */
static bool
string (Js *j, const char **s, size_t *n)
{
  if (!eat (j, '"'))
    return false;
  *s = j->p;
  while (j->p < j->end && *j->p != '"')
    {
      if ((unsigned char) *j->p < 0x20)
        return false;
      if (*j->p == '\\')
        {
          if (j->p + 1 >= j->end)
            return false;
          j->p++; /* escaped characters are kept as written */
        }
      j->p++;
    }
  if (j->p >= j->end)
    return false;
  *n = (size_t) (j->p - *s);
  j->p++;
  return true;
}

static bool
natural (Js *j, uint64_t *v)
{
  ws (j);
  if (j->p >= j->end || *j->p < '0' || *j->p > '9')
    return false;
  *v = 0;
  while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
    {
      if (*v > (UINT64_MAX - 9) / 10)
        return false;
      *v = *v * 10 + (uint64_t) (*j->p++ - '0');
    }
  return true;
}

static bool
is (const char *s, size_t n, const char *lit)
{
  return n == strlen (lit) && memcmp (s, lit, n) == 0;
}

static GzStatus
bad (Js *j)
{
  return gz_error_set (j->err, GZ_ERR_FORMAT,
                       "damaged safetensors header near byte %td of the header", j->p - j->end);
}

GzStatus
gz_safetensors_read (const void *bytes, size_t len, const GzLimits *limits, GzStateDict *out,
                     GzError *err)
{
  const unsigned char *b = bytes;
  if (len < 8)
    return gz_error_set (err, GZ_ERR_FORMAT, "not a safetensors file: too short");
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = hlen << 8 | b[i];
  if (hlen > len - 8)
    return gz_error_set (err, GZ_ERR_FORMAT, "not a safetensors file: header longer than the file");
  const unsigned char *data = b + 8 + hlen;
  size_t data_len = len - 8 - (size_t) hlen;
  Js j = { (const char *) b + 8, (const char *) b + 8 + hlen, err };
  if (!eat (&j, '{'))
    return bad (&j);
  if (eat (&j, '}'))
    return GZ_OK;
  do
    {
      const char *name;
      size_t nlen;
      if (!string (&j, &name, &nlen) || !eat (&j, ':') || !eat (&j, '{'))
        return bad (&j);
      bool meta = is (name, nlen, "__metadata__");
      const char *dtype = NULL;
      size_t dlen = 0;
      int ndim = -1;
      int64_t dims[GZ_MAX_DIMS];
      uint64_t off[2] = { 0, 0 };
      bool have_off = false;
      if (!eat (&j, '}'))
        do
          {
            const char *k, *v;
            size_t kl, vl;
            if (!string (&j, &k, &kl) || !eat (&j, ':'))
              return bad (&j);
            if (meta)
              {
                if (!string (&j, &v, &vl))
                  return bad (&j);
              }
            else if (is (k, kl, "dtype"))
              {
                if (!string (&j, &dtype, &dlen))
                  return bad (&j);
              }
            else if (is (k, kl, "shape") || is (k, kl, "data_offsets"))
              {
                bool shape = k[0] == 's';
                int n = 0;
                uint64_t vals[GZ_MAX_DIMS];
                if (!eat (&j, '['))
                  return bad (&j);
                if (!eat (&j, ']'))
                  {
                    do
                      {
                        if (n >= GZ_MAX_DIMS || !natural (&j, &vals[n]))
                          return bad (&j);
                        n++;
                      }
                    while (eat (&j, ','));
                    if (!eat (&j, ']'))
                      return bad (&j);
                  }
                if (shape)
                  {
                    ndim = n;
                    for (int i = 0; i < n; i++)
                      {
                        if (vals[i] > (uint64_t) limits->max_tensor_elements)
                          return gz_error_set (err, GZ_ERR_LIMIT,
                                               "safetensors tensor '%.*s' is above the "
                                               "" GZ_LIMIT_TENSOR_ELEMENTS " limit",
                                               (int) (nlen > 200 ? 200 : nlen), name);
                        dims[i] = (int64_t) vals[i];
                      }
                  }
                else
                  {
                    if (n != 2)
                      return bad (&j);
                    off[0] = vals[0];
                    off[1] = vals[1];
                    have_off = true;
                  }
              }
            else
              return bad (&j);
          }
        while (eat (&j, ','));
      if (!eat (&j, '}'))
        return bad (&j);
      if (meta)
        continue;
      if (dtype == NULL || ndim < 0 || !have_off)
        return gz_error_set (err, GZ_ERR_FORMAT,
                             "safetensors tensor '%.*s' lacks dtype, shape or data_offsets",
                             (int) (nlen > 200 ? 200 : nlen), name);
      int elsize = is (dtype, dlen, "F32")                        ? 4
          : is (dtype, dlen, "F64")                               ? 8
          : (is (dtype, dlen, "F16") || is (dtype, dlen, "BF16")) ? 2
                                                                  : 0;
      if (off[0] > off[1] || off[1] > data_len)
        return gz_error_set (err, GZ_ERR_FORMAT,
                             "safetensors tensor '%.*s' has data offsets [%llu, %llu] outside "
                             "the %zu data bytes",
                             (int) (nlen > 200 ? 200 : nlen), name, (unsigned long long) off[0],
                             (unsigned long long) off[1], data_len);
      if (elsize == 0)
        continue; /* integer and bool tensors are not weights */
      int64_t numel = 1;
      for (int i = 0; i < ndim; i++)
        {
          numel *= dims[i];
          if (numel > limits->max_tensor_elements)
            return gz_error_set (
                err, GZ_ERR_LIMIT,
                "safetensors tensor '%.*s' is above the " GZ_LIMIT_TENSOR_ELEMENTS " limit of %lld",
                (int) (nlen > 200 ? 200 : nlen), name, (long long) limits->max_tensor_elements);
        }
      if ((uint64_t) numel * (uint64_t) elsize != off[1] - off[0])
        return gz_error_set (err, GZ_ERR_FORMAT,
                             "safetensors tensor '%.*s': %llu data bytes for %lld elements",
                             (int) (nlen > 200 ? 200 : nlen), name,
                             (unsigned long long) (off[1] - off[0]), (long long) numel);
      GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, ndim, dims, err);
      if (t == NULL)
        return GZ_ERR_NOMEM;
      float *dst = gz_tensor_f (t);
      const unsigned char *src = data + off[0];
      for (int64_t i = 0; i < numel; i++)
        {
          const unsigned char *q = src + (size_t) i * (size_t) elsize;
          if (elsize == 4)
            memcpy (&dst[i], q, 4);
          else if (elsize == 8)
            {
              double d;
              memcpy (&d, q, 8);
              dst[i] = (float) d;
            }
          else
            {
              uint16_t h = (uint16_t) (q[0] | q[1] << 8);
              dst[i] = dtype[0] == 'F' ? gz_half_to_float (h) : gz_bfloat16_to_float (h);
            }
        }
      GzStatus s = gz_state_dict_add (out, name, nlen, t, err);
      if (s != GZ_OK)
        return s;
    }
  while (eat (&j, ','));
  if (!eat (&j, '}'))
    return bad (&j);
  ws (&j);
  if (j.p != j.end)
    return bad (&j);
  return GZ_OK;
}
