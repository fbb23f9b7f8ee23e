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
by_data (const void *a, const void *b)
{
  const GzZipEntry *x = a, *y = b;
  return x->data < y->data ? -1 : x->data > y->data;
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

GzStatus
gz_zip_open (const void *bytes, size_t len, GzZip *zip, GzError *err)
{
  const unsigned char *b = bytes;
  memset (zip, 0, sizeof *zip);
  if (len < 22)
    return gz_error_set (err, GZ_ERR_FORMAT,
                         "not an ONNX model, nor a PyTorch zip archive: too short");
  /* End of central directory: scan back over at most a 64 KiB comment. */
  size_t eocd = SIZE_MAX;
  size_t lowest = len > 22 + 65535 ? len - 22 - 65535 : 0;
  for (size_t i = len - 22 + 1; i-- > lowest;)
    if (rd32 (b + i) == 0x06054b50u)
      {
        eocd = i;
        break;
      }
  if (eocd == SIZE_MAX)
    return gz_error_set (
        err, GZ_ERR_FORMAT,
        "not an ONNX model, nor a PyTorch zip archive: no end of central directory");
  uint64_t count = rd16 (b + eocd + 10);
  uint64_t cd_size = rd32 (b + eocd + 12);
  uint64_t cd_off = rd32 (b + eocd + 16);
  if (count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu)
    {
      /* zip64: the locator sits just before the end record. */
      if (eocd < 20 || rd32 (b + eocd - 20) != 0x07064b50u)
        return gz_error_set (err, GZ_ERR_FORMAT, "damaged zip64 file: no locator");
      uint64_t z = rd64 (b + eocd - 20 + 8);
      if (z > len || len - z < 56 || rd32 (b + z) != 0x06064b50u)
        return gz_error_set (err, GZ_ERR_FORMAT, "damaged zip64 file: bad end record");
      count = rd64 (b + z + 32);
      cd_size = rd64 (b + z + 40);
      cd_off = rd64 (b + z + 48);
    }
  if (cd_off > len || cd_size > len - cd_off)
    return gz_error_set (err, GZ_ERR_FORMAT,
                         "damaged zip file: central directory outside the file");
  if (count > cd_size / 46)
    return gz_error_set (err, GZ_ERR_FORMAT, "damaged zip file: %llu entries do not fit",
                         (unsigned long long) count);
  zip->entries = calloc ((size_t) count + 1, sizeof *zip->entries);
  if (zip->entries == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  size_t p = (size_t) cd_off, end = (size_t) (cd_off + cd_size);
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
          gz_zip_close (zip);
          return gz_error_set (err, GZ_ERR_FORMAT,
                               "refusing zip entry '%.*s': an unsafe name (absolute or with '..')",
                               (int) (nlen > 200 ? 200 : nlen), name);
        }
      if (method != 0 || csize != usize || (flags & 1))
        {
          gz_zip_close (zip);
          return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                               "zip entry '%.*s' is compressed or encrypted; torch.save stores "
                               "entries uncompressed",
                               (int) (nlen > 200 ? 200 : nlen), name);
        }
      if (loff > len || len - loff < 30 || rd32 (b + loff) != 0x04034b50u)
        goto damaged;
      uint64_t data = loff + 30 + rd16 (b + loff + 26) + rd16 (b + loff + 28);
      if (data > cd_off || usize > cd_off - data)
        goto damaged;
      GzZipEntry *ent = &zip->entries[zip->n++];
      ent->name = name;
      ent->name_len = nlen;
      ent->data = b + data;
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
  qsort (sorted, (size_t) zip->n, sizeof *sorted, by_data);
  for (int i = 1; i < zip->n; i++)
    if (sorted[i - 1].data + sorted[i - 1].size > sorted[i].data)
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
  zip->entries = NULL;
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
