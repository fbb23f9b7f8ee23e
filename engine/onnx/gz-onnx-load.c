/* gz-onnx-load.c — parses ONNX model bytes (protobuf-c) into a GzGraph
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Everything in the file is untrusted: every name is checked to resolve, every
 * tensor's byte count is checked against its shape (without overflow), and
 * external data may only come from regular files inside the model's folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gz-limits.h"
#include "gz-onnx-load.h"
#include "gz-op.h"
#include "onnx.pb-c.h"

/* ONNX TensorProto.DataType values the loader converts. */
enum
{
  ONNX_FLOAT = 1,
  ONNX_INT32 = 6,
  ONNX_INT64 = 7,
  ONNX_BOOL = 9,
  ONNX_FLOAT16 = 10,
  ONNX_DOUBLE = 11,
};

const char *
gz_onnx_dtype_name (int data_type)
{
  static const char *const names[] = {
    "UNDEFINED",      "FLOAT",      "UINT8",          "INT8",       "UINT16",   "INT16",
    "INT32",          "INT64",      "STRING",         "BOOL",       "FLOAT16",  "DOUBLE",
    "UINT32",         "UINT64",     "COMPLEX64",      "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN",
    "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4",      "INT4",
  };
  if (data_type >= 0 && data_type < (int) (sizeof names / sizeof names[0]))
    return names[data_type];
  return "unknown";
}

static const char *
attr_type_name (int type)
{
  static const char *const names[] = {
    "UNDEFINED",      "FLOAT",      "INT",         "STRING",  "TENSOR", "GRAPH",
    "FLOATS",         "INTS",       "STRINGS",     "TENSORS", "GRAPHS", "SPARSE_TENSOR",
    "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS",
  };
  if (type >= 0 && type < (int) (sizeof names / sizeof names[0]))
    return names[type];
  return "unknown";
}

static bool
str_empty (const char *s)
{
  return s == NULL || s[0] == '\0';
}

/* ---- Name → value index: open addressing, sized once ------------------- */

typedef struct
{
  int *slots; /* value index, -1 when free */
  size_t mask;
} NameMap;

static uint64_t
hash_name (const char *s)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s != '\0'; s++)
    {
      h ^= (unsigned char) *s;
      h *= 1099511628211ull;
    }
  return h;
}

static bool
name_map_init (NameMap *m, size_t max_entries)
{
  size_t cap = 16;
  while (cap < max_entries * 2)
    cap *= 2;
  m->slots = malloc (cap * sizeof *m->slots);
  if (m->slots == NULL)
    return false;
  for (size_t i = 0; i < cap; i++)
    m->slots[i] = -1;
  m->mask = cap - 1;
  return true;
}

/* Returns the slot holding `name`, or the free slot where it would go. */
static size_t
name_map_slot (const NameMap *m, const GzGraph *g, const char *name)
{
  size_t i = (size_t) hash_name (name) & m->mask;
  while (m->slots[i] >= 0 && strcmp (g->values[m->slots[i]].name, name) != 0)
    i = (i + 1) & m->mask;
  return i;
}

static int
name_map_find (const NameMap *m, const GzGraph *g, const char *name)
{
  return m->slots[name_map_slot (m, g, name)];
}

/* ---- Loader state ------------------------------------------------------ */

typedef struct
{
  const char *base_dir;
  const GzLimits *limits;
  GzGraph *g;
  int cap_values;
  NameMap names;
  GzError *err;
} Loader;

/* Appends a value named `name` (which must not exist yet). */
static int
add_value (Loader *ld, const char *name)
{
  GzGraph *g = ld->g;
  if (g->n_values >= ld->cap_values)
    return -1;
  GzValue *v = &g->values[g->n_values];
  memset (v, 0, sizeof *v);
  v->name = strdup (name);
  if (v->name == NULL)
    return -1;
  v->dtype = GZ_DTYPE_FLOAT;
  v->producer = -1;
  ld->names.slots[name_map_slot (&ld->names, g, name)] = g->n_values;
  return g->n_values++;
}

/* ---- Tensors ----------------------------------------------------------- */

static float
half_to_float (uint16_t h)
{
  uint32_t sign = (uint32_t) (h >> 15) << 31;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0)
    {
      /* zero or subnormal: mantissa · 2^-24 */
      float f = ldexpf ((float) mantissa, -24);
      return sign ? -f : f;
    }
  if (exponent == 31)
    bits = sign | 0x7f800000u | (mantissa << 13); /* inf / NaN */
  else
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  float f;
  memcpy (&f, &bits, sizeof f);
  return f;
}

/* Little-endian loads, independent of the host's byte order. */
static uint64_t
load_le (const uint8_t *p, int n)
{
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

/* Decodes `count` little-endian elements of ONNX type `type` into dst. */
static void
decode_raw (int type, const uint8_t *src, int64_t count, void *dst)
{
  float *f = dst;
  int64_t *q = dst;
  if (count <= 0)
    return; /* an empty tensor may have no bytes at all (src NULL) */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  /* The file's little-endian layout is ours: one copy (a per-value loop was
   * 17 % of a MobileNetV2 load). */
  if (type == ONNX_FLOAT || type == ONNX_INT64)
    {
      memcpy (dst, src, (size_t) count * (type == ONNX_FLOAT ? 4 : 8));
      return;
    }
#endif
  for (int64_t i = 0; i < count; i++)
    switch (type)
      {
        case ONNX_FLOAT:
          {
            uint32_t bits = (uint32_t) load_le (src + 4 * i, 4);
            memcpy (&f[i], &bits, sizeof bits);
          }
          break;
        case ONNX_FLOAT16:
          f[i] = half_to_float ((uint16_t) load_le (src + 2 * i, 2));
          break;
        case ONNX_DOUBLE:
          {
            uint64_t bits = load_le (src + 8 * i, 8);
            double d;
            memcpy (&d, &bits, sizeof d);
            f[i] = (float) d;
          }
          break;
        case ONNX_INT32:
          q[i] = (int32_t) (uint32_t) load_le (src + 4 * i, 4);
          break;
        case ONNX_INT64:
          q[i] = (int64_t) load_le (src + 8 * i, 8);
          break;
        case ONNX_BOOL:
          q[i] = src[i] != 0;
          break;
      }
}

static bool
parse_nonneg (const char *s, int64_t *out)
{
  if (str_empty (s) || s[0] == '-' || s[0] == '+')
    return false;
  errno = 0;
  char *end;
  long long v = strtoll (s, &end, 10);
  if (errno != 0 || *end != '\0' || v < 0)
    return false;
  *out = v;
  return true;
}

/* Reads `need` bytes of external data for a tensor into a new buffer. */
static GzStatus
read_external (Loader *ld, const Onnx__TensorProto *tp, const char *desc, size_t need,
               uint8_t **out)
{
  GzError *err = ld->err;
  const char *location = NULL;
  int64_t offset = 0, length = -1;
  for (size_t i = 0; i < tp->n_external_data; i++)
    {
      const Onnx__StringStringEntryProto *e = tp->external_data[i];
      if (e->key == NULL)
        continue;
      if (strcmp (e->key, "location") == 0)
        location = e->value;
      else if (strcmp (e->key, "offset") == 0 && !parse_nonneg (e->value, &offset))
        return gz_error_set (err, GZ_ERR_FORMAT, "%s: external data offset '%s' is not a number",
                             desc, e->value ? e->value : "");
      else if (strcmp (e->key, "length") == 0 && !parse_nonneg (e->value, &length))
        return gz_error_set (err, GZ_ERR_FORMAT, "%s: external data length '%s' is not a number",
                             desc, e->value ? e->value : "");
    }
  if (str_empty (location))
    return gz_error_set (err, GZ_ERR_FORMAT, "%s: external data without a location", desc);
  if (ld->base_dir == NULL)
    return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                         "%s: data is in the external file '%s', but the model was not loaded "
                         "from a folder",
                         desc, location);
  if (location[0] == '/')
    return gz_error_set (err, GZ_ERR_FORMAT,
                         "%s: external data location '%s' is an absolute path; only files "
                         "inside the model's folder are read",
                         desc, location);
  /* Refuse any '..' component outright, then check the resolved path too
   * (symbolic links can point anywhere). */
  for (const char *c = location; *c != '\0';)
    {
      size_t n = strcspn (c, "/");
      if (n == 2 && c[0] == '.' && c[1] == '.')
        return gz_error_set (err, GZ_ERR_FORMAT,
                             "%s: external data location '%s' leaves the model's folder", desc,
                             location);
      c += n;
      while (*c == '/')
        c++;
    }

  GzStatus status = GZ_OK;
  char *joined = NULL, *real_dir = NULL, *real_file = NULL;
  uint8_t *buf = NULL;
  int fd = -1;
  size_t len_dir = strlen (ld->base_dir);
  joined = malloc (len_dir + strlen (location) + 2);
  if (joined == NULL)
    {
      status = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      goto out;
    }
  sprintf (joined, "%s/%s", ld->base_dir, location);
  real_dir = realpath (ld->base_dir, NULL);
  real_file = realpath (joined, NULL);
  if (real_dir == NULL || real_file == NULL)
    {
      status = gz_error_set (err, GZ_ERR_IO, "%s: cannot open external data file '%s': %s", desc,
                             location, strerror (errno));
      goto out;
    }
  size_t n_real = strlen (real_dir);
  bool inside = strncmp (real_file, real_dir, n_real) == 0
      && (real_file[n_real] == '/' || (n_real == 1 && real_dir[0] == '/'));
  if (!inside)
    {
      status = gz_error_set (err, GZ_ERR_FORMAT,
                             "%s: external data location '%s' resolves outside the model's "
                             "folder",
                             desc, location);
      goto out;
    }
  /* stat before open: opening a FIFO or a device could block or have effects. */
  struct stat st;
  if (stat (real_file, &st) != 0 || !S_ISREG (st.st_mode))
    {
      status
          = gz_error_set (err, GZ_ERR_FORMAT,
                          "%s: external data location '%s' is not a regular file", desc, location);
      goto out;
    }
  fd = open (real_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      status = gz_error_set (err, GZ_ERR_IO, "%s: cannot open external data file '%s'", desc,
                             location);
      goto out;
    }
  if (length >= 0 && (uint64_t) length != (uint64_t) need)
    {
      status = gz_error_set (err, GZ_ERR_FORMAT,
                             "%s: external data length is %lld bytes, its shape needs %zu", desc,
                             (long long) length, need);
      goto out;
    }
  if (offset > st.st_size || (uint64_t) (st.st_size - offset) < (uint64_t) need)
    {
      status = gz_error_set (err, GZ_ERR_FORMAT,
                             "%s: external data file '%s' (%lld bytes) is too short for %zu "
                             "bytes at offset %lld",
                             desc, location, (long long) st.st_size, need, (long long) offset);
      goto out;
    }
  buf = malloc (need > 0 ? need : 1);
  if (buf == NULL)
    {
      status = gz_error_set (err, GZ_ERR_NOMEM, "%s: out of memory reading external data", desc);
      goto out;
    }
  for (size_t done = 0; done < need;)
    {
      ssize_t r = pread (fd, buf + done, need - done, (off_t) (offset + (int64_t) done));
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          status = gz_error_set (err, GZ_ERR_IO, "%s: reading external data file '%s' failed", desc,
                                 location);
          goto out;
        }
      done += (size_t) r;
    }
  *out = buf;
  buf = NULL;
out:
  if (fd >= 0)
    close (fd);
  free (buf);
  free (joined);
  free (real_dir);
  free (real_file);
  return status;
}

/* Converts a TensorProto to float32 (FLOAT, FLOAT16, DOUBLE) or int64 (INT64,
 * INT32, and BOOL as 0/1: the engine's booleans are int64, like the outputs of
 * its comparisons; any non-zero byte is true). desc names the tensor in messages ("initializer
 * 'w'"). */
static GzStatus
tensor_from_proto (Loader *ld, const Onnx__TensorProto *tp, const char *desc, GzTensor **out)
{
  GzError *err = ld->err;
  int type = tp->has_data_type ? tp->data_type : 0;
  GzDType dtype;
  size_t file_size; /* bytes per element in raw / external data */
  switch (type)
    {
      case ONNX_FLOAT:
        dtype = GZ_DTYPE_FLOAT;
        file_size = 4;
        break;
      case ONNX_FLOAT16:
        dtype = GZ_DTYPE_FLOAT;
        file_size = 2;
        break;
      case ONNX_DOUBLE:
        dtype = GZ_DTYPE_FLOAT;
        file_size = 8;
        break;
      case ONNX_INT64:
        dtype = GZ_DTYPE_INT64;
        file_size = 8;
        break;
      case ONNX_INT32:
        dtype = GZ_DTYPE_INT64;
        file_size = 4;
        break;
      case ONNX_BOOL:
        dtype = GZ_DTYPE_INT64;
        file_size = 1;
        break;
      default:
        return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                             "%s has data type %s (%d); Gaze reads FLOAT, FLOAT16, DOUBLE, INT64, "
                             "INT32 and BOOL tensors",
                             desc, gz_onnx_dtype_name (type), type);
    }
  if (tp->n_dims > GZ_MAX_DIMS)
    return gz_error_set (err, GZ_ERR_UNSUPPORTED, "%s has %zu dimensions; at most %d are supported",
                         desc, tp->n_dims, GZ_MAX_DIMS);
  for (size_t i = 0; i < tp->n_dims; i++)
    if (tp->dims[i] < 0)
      return gz_error_set (err, GZ_ERR_FORMAT, "%s has a negative dimension (%lld)", desc,
                           (long long) tp->dims[i]);
  /* Empty dimensions count as 1 here: operators multiply the others. */
  int64_t extent = 1;
  for (size_t i = 0; i < tp->n_dims && extent >= 0; i++)
    {
      int64_t d = tp->dims[i] == 0 ? 1 : tp->dims[i];
      extent = extent > INT64_MAX / d ? -1 : extent * d;
    }
  int64_t numel = gz_shape_numel ((int) tp->n_dims, tp->dims);
  if (numel < 0 || numel > ld->limits->max_tensor_elements || extent < 0
      || extent > ld->limits->max_tensor_elements)
    return gz_error_set (err, GZ_ERR_LIMIT,
                         "%s has more elements than the " GZ_LIMIT_TENSOR_ELEMENTS " limit of %lld",
                         desc, (long long) ld->limits->max_tensor_elements);
  if ((uint64_t) numel > SIZE_MAX / 8)
    return gz_error_set (err, GZ_ERR_LIMIT, "%s is too large", desc);
  size_t need = (size_t) numel * file_size;

  GzTensor *t = gz_tensor_new (dtype, (int) tp->n_dims, tp->dims, err);
  if (t == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;

  GzStatus status = GZ_OK;
  if (tp->has_data_location && tp->data_location == 1)
    {
      uint8_t *bytes = NULL;
      status = read_external (ld, tp, desc, need, &bytes);
      if (status == GZ_OK)
        decode_raw (type, bytes, numel, t->data);
      free (bytes);
    }
  else if (tp->has_raw_data)
    {
      if (tp->raw_data.len != need)
        status = gz_error_set (err, GZ_ERR_FORMAT,
                               "%s has %zu bytes of data, but its shape and type need %zu", desc,
                               tp->raw_data.len, need);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      else if ((type == ONNX_FLOAT || type == ONNX_INT64) && need > 0)
        {
          /* The bytes are already our layout, in a malloc'd block that
           * protobuf-c would free with free(): the tensor takes the block
           * over instead of copying it (one copy of the weights less in time
           * and in peak memory). free_unpacked skips a NULL data pointer. */
          free (t->data);
          t->data = tp->raw_data.data;
          ((Onnx__TensorProto *) tp)->raw_data.data = NULL;
          ((Onnx__TensorProto *) tp)->raw_data.len = 0;
        }
#endif
      else
        decode_raw (type, tp->raw_data.data, numel, t->data);
    }
  else
    {
      /* Typed fields: FLOAT16 bits and BOOL values travel in int32_data. */
      size_t have = type == ONNX_FLOAT ? tp->n_float_data
          : type == ONNX_DOUBLE        ? tp->n_double_data
          : type == ONNX_INT64         ? tp->n_int64_data
                                       : tp->n_int32_data;
      if (have != (size_t) numel)
        status = gz_error_set (err, GZ_ERR_FORMAT, "%s has %zu values, but its shape needs %lld",
                               desc, have, (long long) numel);
      else
        {
          float *f = t->data;
          int64_t *q = t->data;
          for (int64_t i = 0; i < numel; i++)
            switch (type)
              {
                case ONNX_FLOAT:
                  f[i] = tp->float_data[i];
                  break;
                case ONNX_DOUBLE:
                  f[i] = (float) tp->double_data[i];
                  break;
                case ONNX_FLOAT16:
                  f[i] = half_to_float ((uint16_t) tp->int32_data[i]);
                  break;
                case ONNX_INT64:
                  q[i] = tp->int64_data[i];
                  break;
                case ONNX_INT32:
                  q[i] = tp->int32_data[i];
                  break;
                case ONNX_BOOL:
                  q[i] = tp->int32_data[i] != 0;
                  break;
              }
        }
    }
  if (status != GZ_OK)
    {
      gz_tensor_free (t);
      return status;
    }
  *out = t;
  return GZ_OK;
}

/* ---- Attributes -------------------------------------------------------- */

static char *
dup_bytes (const ProtobufCBinaryData *b)
{
  char *s = malloc (b->len + 1);
  if (s != NULL)
    {
      if (b->len > 0)
        memcpy (s, b->data, b->len);
      s[b->len] = '\0';
    }
  return s;
}

/* IR version 1 files may omit the type: guess it from the field present. */
static int
attr_guess_type (const Onnx__AttributeProto *ap)
{
  if (ap->n_floats > 0)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
  if (ap->n_ints > 0)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  if (ap->n_strings > 0)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
  if (ap->t != NULL)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
  if (ap->has_s)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  if (ap->has_i)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  if (ap->has_f)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  return 0;
}

static GzStatus
attr_convert (Loader *ld, const Onnx__AttributeProto *ap, const GzNode *node, GzAttr *a)
{
  GzError *err = ld->err;
  if (str_empty (ap->name))
    return gz_error_set (err, GZ_ERR_FORMAT, "node '%s' has an attribute without a name",
                         node->name);
  a->name = strdup (ap->name);
  if (a->name == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  if (!str_empty (ap->ref_attr_name))
    return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                         "attribute '%s' of node '%s' refers to a function attribute", ap->name,
                         node->name);
  int type = ap->has_type ? ap->type : attr_guess_type (ap);
  switch (type)
    {
      case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        a->f = ap->f;
        break;
      case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        a->i = ap->i;
        break;
      case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        if ((a->s = dup_bytes (&ap->s)) == NULL)
          return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
        break;
      case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
        {
          if (ap->t == NULL)
            return gz_error_set (err, GZ_ERR_FORMAT,
                                 "tensor attribute '%s' of node '%s' has no tensor", ap->name,
                                 node->name);
          char desc[600];
          snprintf (desc, sizeof desc, "tensor attribute '%s' of node '%s'", ap->name, node->name);
          GzStatus s = tensor_from_proto (ld, ap->t, desc, &a->t);
          if (s != GZ_OK)
            return s;
        }
        break;
      case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
      case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        {
          bool floats = type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
          size_t n = floats ? ap->n_floats : ap->n_ints;
          if (n > (size_t) ld->limits->max_tensor_elements || n > INT_MAX)
            return gz_error_set (
                err, GZ_ERR_LIMIT,
                "attribute '%s' of node '%s' is longer than the " GZ_LIMIT_TENSOR_ELEMENTS
                " limit of %lld",
                ap->name, node->name, (long long) ld->limits->max_tensor_elements);
          a->n = (int) n;
          if (n > 0)
            {
              size_t size = floats ? sizeof (float) : sizeof (int64_t);
              void *copy = malloc (n * size);
              if (copy == NULL)
                return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
              memcpy (copy, floats ? (const void *) ap->floats : (const void *) ap->ints, n * size);
              if (floats)
                a->floats = copy;
              else
                a->ints = copy;
            }
        }
        break;
      case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
        {
          /* Stored in `s` back to back, each NUL-terminated; n is the count. */
          size_t total = 1;
          for (size_t i = 0; i < ap->n_strings; i++)
            total += ap->strings[i].len + 1;
          if (ap->n_strings > INT_MAX || (a->s = malloc (total)) == NULL)
            return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
          char *p = a->s;
          for (size_t i = 0; i < ap->n_strings; i++)
            {
              if (ap->strings[i].len > 0)
                memcpy (p, ap->strings[i].data, ap->strings[i].len);
              p += ap->strings[i].len;
              *p++ = '\0';
            }
          *p = '\0';
          a->n = (int) ap->n_strings;
        }
        break;
      default:
        return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                             "attribute '%s' of node '%s' (%s) has type %s, which Gaze does not "
                             "support",
                             ap->name, node->name, node->op_type, attr_type_name (type));
    }
  a->type = (GzAttrType) type;
  return GZ_OK;
}

/* ---- Topological order ------------------------------------------------- */

/* Depth-first over inputs, in file order: a file that is already sorted keeps
 * its order. Iterative, so deep graphs cannot overflow the C stack. */
static GzStatus
topo_sort (GzGraph *g, int *order, GzError *err)
{
  int n = g->n_nodes;
  GzStatus status = GZ_OK;
  unsigned char *state = calloc ((size_t) n + 1, 1); /* 0 new, 1 on the path, 2 done */
  int *stack = malloc (((size_t) n + 1) * sizeof *stack);
  int *pos = malloc (((size_t) n + 1) * sizeof *pos);
  int *new_index = malloc (((size_t) n + 1) * sizeof *new_index);
  GzNode *sorted = malloc (((size_t) n + 1) * sizeof *sorted);
  if (state == NULL || stack == NULL || pos == NULL || new_index == NULL || sorted == NULL)
    {
      status = gz_error_set (err, GZ_ERR_NOMEM, "out of memory sorting the graph");
      goto out;
    }
  int n_order = 0;
  for (int s = 0; s < n; s++)
    {
      if (state[s] != 0)
        continue;
      int top = 0;
      stack[0] = s;
      pos[0] = 0;
      state[s] = 1;
      while (top >= 0)
        {
          int v = stack[top];
          const GzNode *node = &g->nodes[v];
          if (pos[top] < node->n_inputs)
            {
              int in = node->inputs[pos[top]++];
              int p = in >= 0 ? g->values[in].producer : -1;
              if (p < 0 || state[p] == 2)
                continue;
              if (state[p] == 1)
                {
                  if (p == v)
                    status = gz_error_set (err, GZ_ERR_FORMAT,
                                           "the graph has a cycle: node '%s' reads its own "
                                           "output '%s'",
                                           node->name, g->values[in].name);
                  else
                    status = gz_error_set (err, GZ_ERR_FORMAT,
                                           "the graph has a cycle: node '%s' reads '%s' from "
                                           "node '%s', which in turn depends on node '%s'",
                                           node->name, g->values[in].name, g->nodes[p].name,
                                           node->name);
                  goto out;
                }
              top++;
              stack[top] = p;
              pos[top] = 0;
              state[p] = 1;
            }
          else
            {
              state[v] = 2;
              order[n_order++] = v;
              top--;
            }
        }
    }
  for (int k = 0; k < n; k++)
    {
      sorted[k] = g->nodes[order[k]];
      new_index[order[k]] = k;
    }
  memcpy (g->nodes, sorted, (size_t) n * sizeof *sorted);
  for (int i = 0; i < g->n_values; i++)
    if (g->values[i].producer >= 0)
      g->values[i].producer = new_index[g->values[i].producer];
out:
  free (state);
  free (stack);
  free (pos);
  free (new_index);
  free (sorted);
  return status;
}

/* ---- Graph ------------------------------------------------------------- */

static GzStatus
declared_shape (Loader *ld, const Onnx__ValueInfoProto *vi, GzValue *v, bool is_input)
{
  const Onnx__TypeProto *type = vi->type;
  if (type == NULL)
    return GZ_OK;
  if (type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || type->tensor_type == NULL)
    return gz_error_set (ld->err, GZ_ERR_UNSUPPORTED,
                         "graph %s '%s' is not a tensor (sequences and maps are not supported)",
                         is_input ? "input" : "output", v->name);
  const Onnx__TypeProto__Tensor *tt = type->tensor_type;
  if (tt->has_elem_type)
    {
      if (tt->elem_type == ONNX_FLOAT)
        v->dtype = GZ_DTYPE_FLOAT;
      else if (tt->elem_type == ONNX_INT64)
        v->dtype = GZ_DTYPE_INT64;
      else if (is_input)
        return gz_error_set (ld->err, GZ_ERR_UNSUPPORTED,
                             "graph input '%s' has element type %s; Gaze feeds FLOAT (or INT64) "
                             "inputs",
                             v->name, gz_onnx_dtype_name (tt->elem_type));
    }
  if (tt->shape == NULL)
    return GZ_OK;
  if (tt->shape->n_dim > GZ_MAX_DIMS)
    return gz_error_set (ld->err, GZ_ERR_UNSUPPORTED, "graph %s '%s' has %zu dimensions",
                         is_input ? "input" : "output", v->name, tt->shape->n_dim);
  v->ndim = (int) tt->shape->n_dim;
  for (int i = 0; i < v->ndim; i++)
    {
      const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
      if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
        {
          if (d->dim_value < 0)
            return gz_error_set (ld->err, GZ_ERR_FORMAT, "graph %s '%s' has a negative dimension",
                                 is_input ? "input" : "output", v->name);
          v->dims[i] = d->dim_value;
        }
      else
        v->dims[i] = -1; /* symbolic or unknown */
    }
  v->has_shape = true;
  return GZ_OK;
}

static GzStatus bind_operators (Loader *ld, const Onnx__GraphProto *gp, const int *file_index);

static GzStatus
load_graph (Loader *ld, const Onnx__ModelProto *m)
{
  GzError *err = ld->err;
  GzGraph *g = ld->g;
  const Onnx__GraphProto *gp = m->graph;
  GzStatus s;

  /* Producer and opset. */
  const char *pname = m->producer_name != NULL ? m->producer_name : "";
  const char *pver = m->producer_version != NULL ? m->producer_version : "";
  g->producer = malloc (strlen (pname) + strlen (pver) + 2);
  if (g->producer == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  sprintf (g->producer, "%s%s%s", pname, pname[0] && pver[0] ? " " : "", pver);
  g->opset = 1; /* what the specification assumes when nothing is imported */
  for (size_t i = 0; i < m->n_opset_import; i++)
    {
      const Onnx__OperatorSetIdProto *o = m->opset_import[i];
      if ((str_empty (o->domain) || strcmp (o->domain, "ai.onnx") == 0) && o->has_version)
        g->opset = o->version;
    }

  if (gp->n_node > (size_t) ld->limits->max_nodes || gp->n_node > INT_MAX / 4)
    return gz_error_set (err, GZ_ERR_LIMIT,
                         "the model has %zu nodes, above the " GZ_LIMIT_NODES " limit of %lld",
                         gp->n_node, (long long) ld->limits->max_nodes);
  if (gp->n_sparse_initializer > 0)
    return gz_error_set (err, GZ_ERR_UNSUPPORTED, "sparse initializers are not supported");

  /* Every value the graph can have, counted once to size the arrays. */
  size_t max_values = gp->n_initializer + gp->n_input;
  for (size_t i = 0; i < gp->n_node; i++)
    {
      if (gp->node[i]->n_output > INT_MAX / 4 || gp->node[i]->n_input > INT_MAX / 4)
        return gz_error_set (err, GZ_ERR_LIMIT, "node %zu has too many inputs or outputs", i);
      max_values += gp->node[i]->n_output;
      if (max_values > INT_MAX / 4)
        return gz_error_set (err, GZ_ERR_LIMIT, "the model has too many values");
    }
  ld->cap_values = (int) max_values;
  g->values = calloc (max_values + 1, sizeof *g->values);
  if (g->values == NULL || !name_map_init (&ld->names, max_values + 1))
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");

  /* Initializers: constants. */
  for (size_t i = 0; i < gp->n_initializer; i++)
    {
      const Onnx__TensorProto *tp = gp->initializer[i];
      if (str_empty (tp->name))
        return gz_error_set (err, GZ_ERR_FORMAT, "initializer %zu has no name", i);
      if (name_map_find (&ld->names, g, tp->name) >= 0)
        return gz_error_set (err, GZ_ERR_FORMAT, "initializer '%s' is defined twice", tp->name);
      char desc[300];
      snprintf (desc, sizeof desc, "initializer '%s'", tp->name);
      GzTensor *t;
      if ((s = tensor_from_proto (ld, tp, desc, &t)) != GZ_OK)
        return s;
      int vi = add_value (ld, tp->name);
      if (vi < 0)
        {
          gz_tensor_free (t);
          return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
        }
      GzValue *v = &g->values[vi];
      v->initializer = t;
      v->dtype = t->dtype;
      v->ndim = t->ndim;
      memcpy (v->dims, t->dims, sizeof v->dims);
      v->has_shape = true;
    }

  /* Graph inputs; those that are also initializers are constants with a default. */
  int n_runtime = 0;
  char names[256] = "";
  g->input = -1;
  for (size_t i = 0; i < gp->n_input; i++)
    {
      const Onnx__ValueInfoProto *vi = gp->input[i];
      if (str_empty (vi->name))
        return gz_error_set (err, GZ_ERR_FORMAT, "graph input %zu has no name", i);
      int existing = name_map_find (&ld->names, g, vi->name);
      if (existing >= 0)
        {
          if (g->values[existing].initializer == NULL)
            return gz_error_set (err, GZ_ERR_FORMAT, "graph input '%s' is listed twice", vi->name);
          continue;
        }
      int idx = add_value (ld, vi->name);
      if (idx < 0)
        return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      if ((s = declared_shape (ld, vi, &g->values[idx], true)) != GZ_OK)
        return s;
      if (n_runtime == 0)
        g->input = idx;
      if (strlen (names) + strlen (vi->name) + 8 < sizeof names)
        {
          strcat (names, n_runtime > 0 ? ", '" : "'");
          strcat (names, vi->name);
          strcat (names, "'");
        }
      n_runtime++;
    }
  if (n_runtime == 0)
    return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                         "the model has no input: every graph input is an initializer");
  if (n_runtime > 1)
    return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                         "the model has %d inputs (%s); Gaze needs a single image input", n_runtime,
                         names);

  /* Nodes in file order: names, outputs. */
  g->nodes = calloc (gp->n_node + 1, sizeof *g->nodes);
  if (g->nodes == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  g->n_nodes = (int) gp->n_node;
  for (int i = 0; i < g->n_nodes; i++)
    {
      const Onnx__NodeProto *np = gp->node[i];
      GzNode *node = &g->nodes[i];
      if (str_empty (np->op_type))
        return gz_error_set (err, GZ_ERR_FORMAT, "node %d ('%s') has no op_type", i,
                             np->name ? np->name : "");
      node->op_type = strdup (np->op_type);
      node->domain = strdup (np->domain != NULL ? np->domain : "");
      if (!str_empty (np->name))
        node->name = strdup (np->name);
      else if ((node->name = malloc (strlen (np->op_type) + 16)) != NULL)
        sprintf (node->name, "%s_%d", np->op_type, i);
      node->inputs = malloc ((np->n_input + 1) * sizeof *node->inputs);
      node->outputs = malloc ((np->n_output + 1) * sizeof *node->outputs);
      node->attrs = calloc (np->n_attribute + 1, sizeof *node->attrs);
      if (node->op_type == NULL || node->domain == NULL || node->name == NULL
          || node->inputs == NULL || node->outputs == NULL || node->attrs == NULL)
        return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      node->n_attrs = (int) np->n_attribute; /* zeroed: freeing a half-filled node is safe */
      node->n_outputs = (int) np->n_output;
      for (int j = 0; j < node->n_outputs; j++)
        {
          const char *name = np->output[j];
          if (str_empty (name))
            {
              node->outputs[j] = -1; /* an optional output left out */
              continue;
            }
          int existing = name_map_find (&ld->names, g, name);
          if (existing >= 0)
            return gz_error_set (
                err, GZ_ERR_FORMAT, "node '%s' (%s) writes '%s', which is already %s", node->name,
                node->op_type, name,
                g->values[existing].producer >= 0 ? "the output of another node"
                                                  : "an initializer or graph input");
          int idx = add_value (ld, name);
          if (idx < 0)
            return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
          g->values[idx].producer = i;
          node->outputs[j] = idx;
        }
    }

  /* Inputs: every name must resolve. */
  for (int i = 0; i < g->n_nodes; i++)
    {
      const Onnx__NodeProto *np = gp->node[i];
      GzNode *node = &g->nodes[i];
      node->n_inputs = (int) np->n_input;
      for (int j = 0; j < node->n_inputs; j++)
        {
          const char *name = np->input[j];
          if (str_empty (name))
            {
              node->inputs[j] = -1;
              continue;
            }
          int idx = name_map_find (&ld->names, g, name);
          if (idx < 0)
            return gz_error_set (err, GZ_ERR_FORMAT,
                                 "node '%s' (%s) reads '%s', which no node, initializer or graph "
                                 "input provides",
                                 node->name, node->op_type, name);
          node->inputs[j] = idx;
        }
    }

  /* Graph outputs. */
  if (gp->n_output == 0)
    return gz_error_set (err, GZ_ERR_FORMAT, "the graph has no output");
  for (size_t i = 0; i < gp->n_output; i++)
    {
      const Onnx__ValueInfoProto *vi = gp->output[i];
      int idx = str_empty (vi->name) ? -1 : name_map_find (&ld->names, g, vi->name);
      if (idx < 0)
        return gz_error_set (err, GZ_ERR_FORMAT,
                             "graph output '%s' is not produced by any node, initializer or "
                             "input",
                             vi->name ? vi->name : "");
      if (i == 0)
        g->output = idx;
      GzValue *v = &g->values[idx];
      if (!v->has_shape && (s = declared_shape (ld, vi, v, false)) != GZ_OK)
        return s;
    }

  int *file_index = malloc (((size_t) g->n_nodes + 1) * sizeof *file_index);
  if (file_index == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  s = topo_sort (g, file_index, err);
  if (s == GZ_OK)
    s = bind_operators (ld, gp, file_index);
  free (file_index);
  return s;
}

/* Operators, attributes and op->init, in topological order. */
static GzStatus
bind_operators (Loader *ld, const Onnx__GraphProto *gp, const int *file_index)
{
  GzGraph *g = ld->g;
  GzError *err = ld->err;
  GzStatus s;

  for (int i = 0; i < g->n_nodes; i++)
    {
      GzNode *node = &g->nodes[i];
      if (!str_empty (node->domain) && strcmp (node->domain, "ai.onnx") != 0)
        return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                             "unsupported operator '%s.%s' in node '%s' (opset %lld)", node->domain,
                             node->op_type, node->name, (long long) g->opset);
      const GzOpDef *op = gz_op_lookup (node->op_type);
      if (op == NULL)
        return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                             "unsupported operator '%s' in node '%s' (opset %lld)", node->op_type,
                             node->name, (long long) g->opset);
      if (g->opset < op->min_opset)
        return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                             "unsupported operator '%s' in node '%s' (opset %lld; Gaze "
                             "implements it from opset %d)",
                             node->op_type, node->name, (long long) g->opset, op->min_opset);
      /* Every operator Gaze runs has a required first output; infer writes it. */
      if (node->n_outputs < 1 || node->outputs[0] < 0)
        return gz_error_set (err, GZ_ERR_FORMAT, "node '%s' (%s) has no (first) output", node->name,
                             node->op_type);
      const Onnx__NodeProto *np = gp->node[file_index[i]];
      for (int j = 0; j < node->n_attrs; j++)
        if ((s = attr_convert (ld, np->attribute[j], node, &node->attrs[j])) != GZ_OK)
          return s;
      node->op = op;
      if (op->init != NULL && (s = op->init (node, g->opset, err)) != GZ_OK)
        return s;
    }
  return GZ_OK;
}

GzStatus
gz_onnx_load_graph (const void *bytes, size_t len, const char *base_dir, const GzLimits *limits,
                    GzGraph **out, GzError *err)
{
  *out = NULL;
  if (bytes == NULL && len > 0)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "no model data");
  if (limits != NULL && (int64_t) len > limits->max_file_bytes)
    return gz_error_set (err, GZ_ERR_LIMIT,
                         "the model is %zu bytes, above the " GZ_LIMIT_FILE_BYTES " limit of %lld",
                         len, (long long) limits->max_file_bytes);
  GzLimits defaults;
  if (limits == NULL)
    {
      gz_limits_default (&defaults);
      limits = &defaults;
    }
  Onnx__ModelProto *m = onnx__model_proto__unpack (NULL, len, bytes);
  if (m == NULL)
    return gz_error_set (err, GZ_ERR_FORMAT,
                         "not an ONNX model: the data is not a valid ModelProto (truncated, or "
                         "another kind of file)");
  if (m->graph == NULL)
    {
      onnx__model_proto__free_unpacked (m, NULL);
      return gz_error_set (err, GZ_ERR_FORMAT, "not an ONNX model: it has no graph");
    }
  GzGraph *g = calloc (1, sizeof *g);
  if (g == NULL)
    {
      onnx__model_proto__free_unpacked (m, NULL);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  g->input = -1;
  g->output = -1;
  Loader ld = { .base_dir = base_dir, .limits = limits, .g = g, .err = err };
  GzStatus s = load_graph (&ld, m);
  free (ld.names.slots);
  onnx__model_proto__free_unpacked (m, NULL);
  if (s != GZ_OK)
    {
      gz_graph_free (g);
      return s;
    }
  *out = g;
  return GZ_OK;
}
