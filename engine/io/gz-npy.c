/* gz-npy.c — NumPy .npy files: read v1/v2/v3, write v1.0 atomically
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Format (numpy/lib/format.py, NEP 1): "\x93NUMPY", major, minor, a header
 * length (uint16 LE in v1, uint32 LE in v2/v3), then a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and ended by '\n' so that the data starts on a 64-byte boundary.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gaze-engine.h"
#include "gz-graph.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_PREFIX_V1 10
#define NPY_PREFIX_V2 12
/* Headers are tiny; anything larger is not a file we wrote or want. */
#define NPY_MAX_HEADER (1 << 20)
/* Same as the engine's default per-tensor limit (gz_limits_default). */
#define NPY_MAX_ELEMENTS ((int64_t) 1 << 31)

typedef enum
{
  NPY_F4,
  NPY_F8,
  NPY_I4,
  NPY_I8,
} NpyKind;

typedef struct
{
  NpyKind kind;
  size_t item_size;
  int ndim;
  int64_t dims[GZ_MAX_DIMS];
  int64_t numel;
  size_t data_offset; /* from the start of the file */
  size_t data_bytes;
} NpyHeader;

/* ---- Header parsing ---------------------------------------------------- */

typedef struct
{
  const char *p;
  const char *end;
} Cursor;

static void
skip_space (Cursor *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static bool
accept (Cursor *c, char ch)
{
  skip_space (c);
  if (c->p < c->end && *c->p == ch)
    {
      c->p++;
      return true;
    }
  return false;
}

/* A quoted Python string without escapes into buf. */
static bool
parse_string (Cursor *c, char *buf, size_t len)
{
  skip_space (c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return false;
  char quote = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != quote)
    {
      if (*c->p == '\\' || n + 1 >= len)
        return false;
      buf[n++] = *c->p++;
    }
  if (c->p >= c->end)
    return false;
  c->p++;
  buf[n] = '\0';
  return true;
}

static bool
parse_word (Cursor *c, const char *word)
{
  skip_space (c);
  size_t n = strlen (word);
  if ((size_t) (c->end - c->p) >= n && memcmp (c->p, word, n) == 0)
    {
      c->p += n;
      return true;
    }
  return false;
}

static GzStatus
parse_shape (Cursor *c, NpyHeader *h, GzError *err)
{
  if (!accept (c, '('))
    return gz_error_set (err, GZ_ERR_FORMAT, "npy header: 'shape' is not a tuple");
  h->ndim = 0;
  for (;;)
    {
      if (accept (c, ')'))
        break;
      skip_space (c);
      if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return gz_error_set (err, GZ_ERR_FORMAT, "npy header: malformed 'shape'");
      int64_t v = 0;
      while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        {
          int d = *c->p++ - '0';
          if (v > (INT64_MAX - d) / 10)
            return gz_error_set (err, GZ_ERR_LIMIT, "npy header: a dimension overflows");
          v = v * 10 + d;
        }
      if (c->p < c->end && *c->p == 'L') /* Python 2 long literal */
        c->p++;
      if (h->ndim == GZ_MAX_DIMS)
        return gz_error_set (err, GZ_ERR_LIMIT, "npy array has more than %d dimensions",
                             GZ_MAX_DIMS);
      h->dims[h->ndim++] = v;
      if (accept (c, ')'))
        break;
      if (!accept (c, ','))
        return gz_error_set (err, GZ_ERR_FORMAT, "npy header: malformed 'shape'");
    }
  return GZ_OK;
}

static GzStatus
parse_descr (const char *descr, NpyHeader *h, GzError *err)
{
  static const struct
  {
    const char *name;
    NpyKind kind;
    size_t size;
  } known[] = {
    { "<f4", NPY_F4, 4 },
    { "<f8", NPY_F8, 8 },
    { "<i4", NPY_I4, 4 },
    { "<i8", NPY_I8, 8 },
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp (descr, known[i].name) == 0)
      {
        h->kind = known[i].kind;
        h->item_size = known[i].size;
        return GZ_OK;
      }
  if (descr[0] == '>')
    return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                         "npy dtype '%s' is big-endian; only little-endian is supported", descr);
  if (strchr (descr, 'O') != NULL)
    return gz_error_set (err, GZ_ERR_UNSUPPORTED, "npy file holds Python objects; not supported");
  return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                       "npy dtype '%s' is not supported (use float32, float64 or int64)", descr);
}

/* Parses the prefix and header in bytes[0..len); len may cover only the
 * header. total_len is the size of the whole file, to check for truncation. */
static GzStatus
parse_header (const unsigned char *bytes, size_t len, size_t total_len, NpyHeader *h, GzError *err)
{
  memset (h, 0, sizeof *h);
  if (len < NPY_PREFIX_V1 || memcmp (bytes, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
    return gz_error_set (err, GZ_ERR_FORMAT, "not a NumPy .npy file (bad magic)");
  int major = bytes[6];
  size_t prefix, header_len;
  if (major == 1)
    {
      prefix = NPY_PREFIX_V1;
      header_len = (size_t) bytes[8] | (size_t) bytes[9] << 8;
    }
  else if (major == 2 || major == 3)
    {
      if (len < NPY_PREFIX_V2)
        return gz_error_set (err, GZ_ERR_FORMAT, "npy file is truncated in its header");
      prefix = NPY_PREFIX_V2;
      header_len = (size_t) bytes[8] | (size_t) bytes[9] << 8 | (size_t) bytes[10] << 16
          | (size_t) bytes[11] << 24;
    }
  else
    return gz_error_set (err, GZ_ERR_UNSUPPORTED, "npy format version %d.%d is not supported",
                         major, bytes[7]);
  if (header_len > NPY_MAX_HEADER)
    return gz_error_set (err, GZ_ERR_FORMAT, "npy header length %zu is implausible", header_len);
  if (len < prefix + header_len)
    return gz_error_set (err, GZ_ERR_FORMAT, "npy file is truncated in its header");

  Cursor c = { (const char *) bytes + prefix, (const char *) bytes + prefix + header_len };
  bool have_descr = false, have_order = false, have_shape = false;
  char descr[64] = "";
  if (!accept (&c, '{'))
    return gz_error_set (err, GZ_ERR_FORMAT, "npy header is not a dictionary");
  for (;;)
    {
      if (accept (&c, '}'))
        break;
      char key[32];
      if (!parse_string (&c, key, sizeof key) || !accept (&c, ':'))
        return gz_error_set (err, GZ_ERR_FORMAT, "npy header: malformed dictionary");
      if (strcmp (key, "descr") == 0)
        {
          if (!parse_string (&c, descr, sizeof descr))
            {
              skip_space (&c);
              if (c.p < c.end && *c.p == '[')
                return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                                     "npy file holds a structured dtype; not supported");
              return gz_error_set (err, GZ_ERR_FORMAT, "npy header: malformed 'descr'");
            }
          have_descr = true;
        }
      else if (strcmp (key, "fortran_order") == 0)
        {
          if (parse_word (&c, "True"))
            return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                                 "npy array is in Fortran order; only C order is supported");
          if (!parse_word (&c, "False"))
            return gz_error_set (err, GZ_ERR_FORMAT, "npy header: malformed 'fortran_order'");
          have_order = true;
        }
      else if (strcmp (key, "shape") == 0)
        {
          GzStatus st = parse_shape (&c, h, err);
          if (st != GZ_OK)
            return st;
          have_shape = true;
        }
      else
        return gz_error_set (err, GZ_ERR_FORMAT, "npy header: unexpected key '%s'", key);
      if (accept (&c, '}'))
        break;
      if (!accept (&c, ','))
        return gz_error_set (err, GZ_ERR_FORMAT, "npy header: malformed dictionary");
    }
  if (!have_descr || !have_order || !have_shape)
    return gz_error_set (err, GZ_ERR_FORMAT,
                         "npy header lacks 'descr', 'fortran_order' or 'shape'");

  GzStatus st = parse_descr (descr, h, err);
  if (st != GZ_OK)
    return st;
  h->numel = gz_shape_numel (h->ndim, h->dims);
  if (h->numel < 0 || h->numel > NPY_MAX_ELEMENTS)
    return gz_error_set (err, GZ_ERR_LIMIT,
                         "npy array is too large (shape overflows or has "
                         "more than %lld elements)",
                         (long long) NPY_MAX_ELEMENTS);
  h->data_offset = prefix + header_len;
  h->data_bytes = (size_t) h->numel * h->item_size;
  if (total_len < h->data_offset || total_len - h->data_offset < h->data_bytes)
    return gz_error_set (err, GZ_ERR_FORMAT,
                         "npy file is truncated: the shape needs %zu data bytes, the file has %zu",
                         h->data_bytes,
                         total_len > h->data_offset ? total_len - h->data_offset : 0);
  return GZ_OK;
}

/* ---- Data conversion --------------------------------------------------- */

static uint64_t
load_le (const unsigned char *p, size_t size)
{
  uint64_t v = 0;
  for (size_t i = 0; i < size; i++)
    v |= (uint64_t) p[i] << (8 * i);
  return v;
}

static void
store_le (unsigned char *p, uint64_t v, size_t size)
{
  for (size_t i = 0; i < size; i++)
    p[i] = (unsigned char) (v >> (8 * i));
}

/* Converts little-endian file data to the tensor's native element type. */
static void
convert_in (const NpyHeader *h, const unsigned char *src, GzTensor *t)
{
  for (int64_t i = 0; i < h->numel; i++)
    {
      uint64_t v = load_le (src + (size_t) i * h->item_size, h->item_size);
      switch (h->kind)
        {
          case NPY_F4:
            {
              uint32_t u = (uint32_t) v;
              float f;
              memcpy (&f, &u, sizeof f);
              ((float *) t->data)[i] = f;
              break;
            }
          case NPY_F8:
            {
              double d;
              memcpy (&d, &v, sizeof d);
              ((float *) t->data)[i] = (float) d;
              break;
            }
          case NPY_I4:
            ((int64_t *) t->data)[i] = (int32_t) (uint32_t) v;
            break;
          case NPY_I8:
            ((int64_t *) t->data)[i] = (int64_t) v;
            break;
        }
    }
}

static GzTensor *
tensor_for (const NpyHeader *h, GzError *err)
{
  GzDType dtype = h->kind == NPY_F4 || h->kind == NPY_F8 ? GZ_DTYPE_FLOAT : GZ_DTYPE_INT64;
  return gz_tensor_new (dtype, h->ndim, h->dims, err);
}

/* ---- Reading ----------------------------------------------------------- */

GzStatus
gz_npy_read_mem (const void *bytes, size_t len, GzTensor **out, GzError *err)
{
  *out = NULL;
  if (bytes == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "no npy data given");
  NpyHeader h;
  GzStatus st = parse_header (bytes, len, len, &h, err);
  if (st != GZ_OK)
    return st;
  GzTensor *t = tensor_for (&h, err);
  if (t == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  convert_in (&h, (const unsigned char *) bytes + h.data_offset, t);
  *out = t;
  return GZ_OK;
}

static bool
read_all (FILE *f, void *buf, size_t n)
{
  return n == 0 || fread (buf, 1, n, f) == n;
}

GzStatus
gz_npy_read (const char *path, GzTensor **out, GzError *err)
{
  *out = NULL;
  /* fopen on a FIFO blocks until a writer comes: look before opening. */
  struct stat pre;
  if (stat (path, &pre) == 0 && !S_ISREG (pre.st_mode))
    return gz_error_set (err, GZ_ERR_IO, "%s is not a regular file", path);
  FILE *f = fopen (path, "rb");
  if (f == NULL)
    return gz_error_set (err, GZ_ERR_IO, "cannot open %s: %s", path, strerror (errno));
  struct stat sb;
  if (fstat (fileno (f), &sb) != 0 || !S_ISREG (sb.st_mode))
    {
      fclose (f);
      return gz_error_set (err, GZ_ERR_IO, "%s is not a regular file", path);
    }
  size_t total = (size_t) sb.st_size;

  /* The prefix first, then exactly the header it announces. */
  unsigned char prefix[NPY_PREFIX_V2];
  size_t got = fread (prefix, 1, sizeof prefix, f);
  NpyHeader h;
  GzStatus st;
  if (got < NPY_PREFIX_V1 || memcmp (prefix, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
    {
      st = gz_error_set (err, GZ_ERR_FORMAT, "%s is not a NumPy .npy file", path);
      goto fail;
    }
  int major = prefix[6];
  size_t prefix_len = major == 1 ? NPY_PREFIX_V1 : NPY_PREFIX_V2;
  size_t header_len = got < prefix_len ? 0 : (size_t) load_le (prefix + 8, prefix_len - 8);
  if (major < 1 || major > 3 || got < prefix_len || header_len > NPY_MAX_HEADER)
    {
      /* The parser phrases the error from what we have. */
      st = parse_header (prefix, got, total, &h, err);
      if (st == GZ_OK)
        st = gz_error_set (err, GZ_ERR_FORMAT, "%s: malformed npy header", path);
      goto fail;
    }
  unsigned char *head = malloc (prefix_len + header_len);
  if (head == NULL)
    {
      st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory reading %s", path);
      goto fail;
    }
  memcpy (head, prefix, prefix_len);
  size_t have = prefix_len;
  if (got > prefix_len && fseek (f, (long) prefix_len, SEEK_SET) != 0)
    have = 0;
  else
    have += fread (head + prefix_len, 1, header_len, f);
  st = parse_header (head, have, total, &h, err);
  free (head);
  if (st != GZ_OK)
    goto fail;

  GzTensor *t = tensor_for (&h, err);
  if (t == NULL)
    {
      st = err != NULL ? err->code : GZ_ERR_NOMEM;
      goto fail;
    }
  unsigned char *raw = malloc (h.data_bytes > 0 ? h.data_bytes : 1);
  if (raw == NULL)
    {
      gz_tensor_free (t);
      st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory reading %s", path);
      goto fail;
    }
  if (fseek (f, (long) h.data_offset, SEEK_SET) != 0 || !read_all (f, raw, h.data_bytes))
    {
      free (raw);
      gz_tensor_free (t);
      st = gz_error_set (err, GZ_ERR_IO, "cannot read %s: %s", path,
                         ferror (f) ? strerror (errno) : "file is truncated");
      goto fail;
    }
  convert_in (&h, raw, t);
  free (raw);
  fclose (f);
  *out = t;
  return GZ_OK;

fail:
  fclose (f);
  return st;
}

/* ---- Writing ----------------------------------------------------------- */

static bool
write_all (int fd, const void *buf, size_t n)
{
  const char *p = buf;
  while (n > 0)
    {
      ssize_t w = write (fd, p, n);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          return false;
        }
      p += w;
      n -= (size_t) w;
    }
  return true;
}

/* Builds prefix + padded header; returns its length, 0 if it does not fit. */
static size_t
build_header (const GzTensor *t, char *buf, size_t cap)
{
  char dict[512];
  int n = snprintf (dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                    t->dtype == GZ_DTYPE_INT64 ? "<i8" : "<f4");
  for (int i = 0; i < t->ndim; i++)
    n += snprintf (dict + n, sizeof dict - (size_t) n, i == 0 ? "%lld" : ", %lld",
                   (long long) t->dims[i]);
  n += snprintf (dict + n, sizeof dict - (size_t) n, "%s), }", t->ndim == 1 ? "," : "");
  if (n <= 0 || (size_t) n >= sizeof dict)
    return 0;
  /* Pad with spaces so that prefix + header + '\n' is a multiple of 64. */
  size_t total = NPY_PREFIX_V1 + (size_t) n + 1;
  total = (total + 63) / 64 * 64;
  if (total > cap)
    return 0;
  size_t header_len = total - NPY_PREFIX_V1;
  memcpy (buf, NPY_MAGIC, NPY_MAGIC_LEN);
  buf[6] = 1;
  buf[7] = 0;
  buf[8] = (char) (header_len & 0xff);
  buf[9] = (char) (header_len >> 8);
  memcpy (buf + NPY_PREFIX_V1, dict, (size_t) n);
  memset (buf + NPY_PREFIX_V1 + n, ' ', header_len - (size_t) n - 1);
  buf[total - 1] = '\n';
  return total;
}

GzStatus
gz_npy_write (const char *path, const GzTensor *t, GzError *err)
{
  if (path == NULL || t == NULL || t->ndim < 0 || t->ndim > GZ_MAX_DIMS
      || (t->dtype != GZ_DTYPE_FLOAT && t->dtype != GZ_DTYPE_INT64))
    return gz_error_set (err, GZ_ERR_ARGUMENT, "gz_npy_write: invalid tensor or path");
  int64_t numel = gz_tensor_numel (t);
  if (numel < 0 || (uint64_t) numel > SIZE_MAX / 8)
    return gz_error_set (err, GZ_ERR_LIMIT, "gz_npy_write: tensor shape overflows");
  if (numel > 0 && t->data == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "gz_npy_write: tensor has no data");

  char header[640];
  size_t header_len = build_header (t, header, sizeof header);
  if (header_len == 0)
    return gz_error_set (err, GZ_ERR_LIMIT, "gz_npy_write: header too long");

  size_t item = gz_dtype_size (t->dtype);

  /* The rename below would replace a device, FIFO or socket (as root even
   * /dev/null) by a regular file: only regular files are overwritten. */
  struct stat dest;
  if (stat (path, &dest) == 0 && !S_ISREG (dest.st_mode))
    return gz_error_set (err, GZ_ERR_IO, "cannot write %s: it exists and is not a regular file",
                         path);

  size_t plen = strlen (path);
  char *tmp = malloc (plen + 16);
  if (tmp == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  memcpy (tmp, path, plen);
  memcpy (tmp + plen, ".tmp-XXXXXX", 12);
  int fd = mkstemp (tmp);
  if (fd < 0)
    {
      GzStatus st = gz_error_set (err, GZ_ERR_IO, "cannot create %s: %s", path, strerror (errno));
      free (tmp);
      return st;
    }
  /* mkstemp makes 0600 files; give the result the usual permissions. */
  (void) fchmod (fd, 0644);

  bool ok = write_all (fd, header, header_len);
  /* Little-endian on disk whatever the host; convert in chunks. */
  unsigned char chunk[8192];
  size_t per_chunk = sizeof chunk / item;
  for (size_t i = 0; ok && i < (size_t) numel; i += per_chunk)
    {
      size_t n = (size_t) numel - i < per_chunk ? (size_t) numel - i : per_chunk;
      for (size_t j = 0; j < n; j++)
        {
          uint64_t v;
          if (item == 4)
            {
              uint32_t u;
              memcpy (&u, (const float *) t->data + i + j, 4);
              v = u;
            }
          else
            memcpy (&v, (const int64_t *) t->data + i + j, 8);
          store_le (chunk + j * item, v, item);
        }
      ok = write_all (fd, chunk, n * item);
    }
  int saved = errno;
  if (ok && fsync (fd) != 0)
    {
      ok = false;
      saved = errno;
    }
  if (close (fd) != 0 && ok)
    {
      ok = false;
      saved = errno;
    }
  if (ok && rename (tmp, path) != 0)
    {
      ok = false;
      saved = errno;
    }
  if (!ok)
    {
      unlink (tmp);
      free (tmp);
      return gz_error_set (err, GZ_ERR_IO, "cannot write %s: %s", path, strerror (saved));
    }
  free (tmp);

  /* Make the rename itself durable. */
  char *dir = strdup (path);
  if (dir != NULL)
    {
      char *slash = strrchr (dir, '/');
      const char *d = slash == NULL ? "." : (slash == dir ? "/" : (*slash = '\0', dir));
      int dfd = open (d, O_RDONLY | O_DIRECTORY);
      if (dfd >= 0)
        {
          (void) fsync (dfd);
          close (dfd);
        }
      free (dir);
    }
  return GZ_OK;
}
