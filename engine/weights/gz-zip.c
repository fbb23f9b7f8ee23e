/* gz-zip.c — the zip container torch.save writes, read in place
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "gz-zip.h"

static uint32_t
rd16 (const unsigned char *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8;
}

static uint32_t
rd32 (const unsigned char *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t
rd64 (const unsigned char *p)
{
  return (uint64_t) rd32 (p) | (uint64_t) rd32 (p + 4) << 32;
}

static bool
name_is_safe (const char *name, size_t n)
{
  if (n == 0 || name[0] == '/')
    return false;
  for (size_t i = 0; i < n; i++)
    {
      if (name[i] == '\\' || name[i] == '\0' || name[i] == ':')
        return false;
      if (name[i] == '.' && i + 1 < n && name[i + 1] == '.' && (i == 0 || name[i - 1] == '/')
          && (i + 2 == n || name[i + 2] == '/'))
        return false;
    }
  return true;
}

static int
by_offset (const void *a, const void *b)
{
  const GzZipEntry *x = a, *y = b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The zip64 extra field's sizes and offset, for the fields set to 0xffffffff. */
static bool
zip64_extra (const unsigned char *extra, size_t n, uint64_t *usize, uint64_t *csize,
             uint64_t *offset)
{
  size_t i = 0;
  while (i + 4 <= n)
    {
      uint32_t id = rd16 (extra + i), len = rd16 (extra + i + 2);
      if (i + 4 + len > n)
        return false;
      if (id == 1)
        {
          const unsigned char *p = extra + i + 4;
          size_t k = 0;
          if (*usize == 0xffffffffu)
            {
              if (k + 8 > len)
                return false;
              *usize = rd64 (p + k);
              k += 8;
            }
          if (*csize == 0xffffffffu)
            {
              if (k + 8 > len)
                return false;
              *csize = rd64 (p + k);
              k += 8;
            }
          if (*offset == 0xffffffffu)
            {
              if (k + 8 > len)
                return false;
              *offset = rd64 (p + k);
            }
          return true;
        }
      i += 4 + len;
    }
  return *usize != 0xffffffffu && *csize != 0xffffffffu && *offset != 0xffffffffu;
}

static GzStatus
not_a_zip (GzError *err, const char *why)
{
  return gz_error_set (err, GZ_ERR_FORMAT, "not an ONNX model, nor a PyTorch zip archive: %s", why);
}

/* The end of central directory record: found in the last 22 bytes, or
 * before a comment of at most 64 KiB. */
static GzStatus
find_end_record (const GzSource *src, uint64_t *eocd, unsigned char rec[22], GzError *err)
{
  uint64_t len = src->size;
  size_t tail = (size_t) (len > 22 + 65535 ? 22 + 65535 : len);
  const unsigned char *b;
  unsigned char *owned;
  GzStatus s = gz_source_view (src, len - tail, tail, &b, &owned, err);
  if (s != GZ_OK)
    return s;
  bool found = false;
  for (size_t i = tail - 22 + 1; !found && i-- > 0;)
    if (rd32 (b + i) == 0x06054b50u)
      {
        *eocd = len - tail + i;
        memcpy (rec, b + i, 22);
        found = true;
      }
  free (owned);
  if (found)
    return GZ_OK;
  /* Starting as a zip but without its end: most likely cut short. */
  unsigned char head[4];
  if (gz_source_read (src, 0, head, 4, err) == GZ_OK && rd32 (head) == 0x04034b50u)
    return gz_error_set (err, GZ_ERR_FORMAT,
                         "not an ONNX model, and a damaged or truncated zip file: no end of "
                         "central directory (was the file copied or saved completely?)");
  return not_a_zip (err, "no end of central directory");
}

GzStatus
gz_zip_open (const GzSource *src, GzZip *zip, GzError *err)
{
  uint64_t len = src->size;
  memset (zip, 0, sizeof *zip);
  if (len < 22)
    return not_a_zip (err, "too short");
  uint64_t eocd = 0;
  unsigned char rec[56];
  GzStatus s = find_end_record (src, &eocd, rec, err);
  if (s != GZ_OK)
    return s;
  uint64_t count = rd16 (rec + 10);
  uint64_t cd_size = rd32 (rec + 12);
  uint64_t cd_off = rd32 (rec + 16);
  if (count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu)
    {
      /* zip64: the locator sits just before the end record. */
      if (eocd < 20 || gz_source_read (src, eocd - 20, rec, 20, err) != GZ_OK
          || rd32 (rec) != 0x07064b50u)
        return gz_error_set (err, GZ_ERR_FORMAT, "damaged zip64 file: no locator");
      uint64_t z = rd64 (rec + 8);
      if (z > len || len - z < 56 || gz_source_read (src, z, rec, 56, err) != GZ_OK
          || rd32 (rec) != 0x06064b50u)
        return gz_error_set (err, GZ_ERR_FORMAT, "damaged zip64 file: bad end record");
      count = rd64 (rec + 32);
      cd_size = rd64 (rec + 40);
      cd_off = rd64 (rec + 48);
    }
  if (cd_off > len || cd_size > len - cd_off)
    return gz_error_set (err, GZ_ERR_FORMAT,
                         "damaged zip file: central directory outside the file");
  if (count > cd_size / 46)
    return gz_error_set (err, GZ_ERR_FORMAT, "damaged zip file: %llu entries do not fit",
                         (unsigned long long) count);
  zip->entries = calloc ((size_t) count + 1, sizeof *zip->entries);
  zip->directory = malloc ((size_t) cd_size + 1);
  if (zip->entries == NULL || zip->directory == NULL)
    {
      gz_zip_close (zip);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  if ((s = gz_source_read (src, cd_off, zip->directory, (size_t) cd_size, err)) != GZ_OK)
    {
      gz_zip_close (zip);
      return s;
    }
  const unsigned char *b = zip->directory;
  size_t p = 0, end = (size_t) cd_size;
  for (uint64_t e = 0; e < count; e++)
    {
      if (end - p < 46 || rd32 (b + p) != 0x02014b50u)
        goto damaged;
      uint32_t flags = rd16 (b + p + 8), method = rd16 (b + p + 10);
      uint64_t csize = rd32 (b + p + 20), usize = rd32 (b + p + 24);
      size_t nlen = rd16 (b + p + 28), xlen = rd16 (b + p + 30), clen = rd16 (b + p + 32);
      uint64_t loff = rd32 (b + p + 42);
      if (end - p - 46 < nlen + xlen + clen)
        goto damaged;
      const char *name = (const char *) b + p + 46;
      if (!zip64_extra (b + p + 46 + nlen, xlen, &usize, &csize, &loff))
        goto damaged;
      if (!name_is_safe (name, nlen))
        {
          /* The message first: the name lies in the directory freed next. */
          s = gz_error_set (err, GZ_ERR_FORMAT,
                            "refusing zip entry '%.*s': an unsafe name (absolute or with '..')",
                            (int) (nlen > 200 ? 200 : nlen), name);
          gz_zip_close (zip);
          return s;
        }
      if (method != 0 || csize != usize || (flags & 1))
        {
          s = gz_error_set (err, GZ_ERR_UNSUPPORTED,
                            "zip entry '%.*s' is compressed or encrypted; torch.save stores "
                            "entries uncompressed",
                            (int) (nlen > 200 ? 200 : nlen), name);
          gz_zip_close (zip);
          return s;
        }
      unsigned char local[30];
      if (loff > len || len - loff < 30)
        goto damaged;
      if ((s = gz_source_read (src, loff, local, 30, err)) != GZ_OK)
        {
          gz_zip_close (zip); /* the file changed under us */
          return s;
        }
      if (rd32 (local) != 0x04034b50u)
        goto damaged;
      uint64_t data = loff + 30 + rd16 (local + 26) + rd16 (local + 28);
      if (data > cd_off || usize > cd_off - data)
        goto damaged;
      GzZipEntry *ent = &zip->entries[zip->n++];
      ent->name = name;
      ent->name_len = nlen;
      ent->offset = data;
      ent->size = (size_t) usize;
      p += 46 + nlen + xlen + clen;
    }
  /* No two entries may share bytes. */
  GzZipEntry *sorted = malloc (((size_t) zip->n + 1) * sizeof *sorted);
  if (sorted == NULL)
    {
      gz_zip_close (zip);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  if (zip->n > 0)
    memcpy (sorted, zip->entries, (size_t) zip->n * sizeof *sorted);
  qsort (sorted, (size_t) zip->n, sizeof *sorted, by_offset);
  for (int i = 1; i < zip->n; i++)
    if (sorted[i - 1].offset + sorted[i - 1].size > sorted[i].offset)
      {
        free (sorted);
        gz_zip_close (zip);
        return gz_error_set (err, GZ_ERR_FORMAT, "damaged zip file: entries overlap");
      }
  free (sorted);
  return GZ_OK;
damaged:
  gz_zip_close (zip);
  return gz_error_set (err, GZ_ERR_FORMAT,
                       "damaged zip file: a central directory entry is invalid");
}

void
gz_zip_close (GzZip *zip)
{
  free (zip->entries);
  free (zip->directory);
  zip->entries = NULL;
  zip->directory = NULL;
  zip->n = 0;
}

const GzZipEntry *
gz_zip_find (const GzZip *zip, const char *name)
{
  size_t n = strlen (name);
  for (int i = 0; i < zip->n; i++)
    if (zip->entries[i].name_len == n && memcmp (zip->entries[i].name, name, n) == 0)
      return &zip->entries[i];
  return NULL;
}
