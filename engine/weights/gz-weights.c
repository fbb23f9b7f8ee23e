/* gz-weights.c — format sniffing, torch.save zip files, file → graph
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz-limits.h"
#include "gz-safetensors.h"
#include "gz-torch-legacy.h"
#include "gz-torchvision.h"
#include "gz-unpickle.h"
#include "gz-weights.h"
#include "gz-zip.h"

bool
gz_weights_sniff (const void *bytes, size_t len)
{
  const unsigned char *b = bytes;
  if (len >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4)
    return true;
  if (len >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5)
    return true;
  /* safetensors: a little-endian header length, then '{'. */
  if (len >= 10 && b[8] == '{')
    {
      uint64_t n = 0;
      for (int i = 7; i >= 0; i--)
        n = n << 8 | b[i];
      return n >= 2 && n <= len - 8;
    }
  return false;
}

typedef struct
{
  const GzSource *src;
  const GzZip *zip;
  const char *dir; /* "archive/" */
  size_t dir_len;
} ZipStorage;

static GzStatus
zip_storage (void *user, const char *key, GzStorageType type, int64_t numel, GzStorageBytes *out,
             GzError *err)
{
  (void) type;
  (void) numel;
  const ZipStorage *zs = user;
  char name[512];
  if (zs->dir_len + strlen (key) + 6 >= sizeof name)
    return gz_error_set (err, GZ_ERR_FORMAT, "storage key too long");
  snprintf (name, sizeof name, "%.*sdata/%s", (int) zs->dir_len, zs->dir, key);
  const GzZipEntry *e = gz_zip_find (zs->zip, name);
  if (e == NULL)
    return gz_error_set (err, GZ_ERR_FORMAT, "the file has no storage '%s' (entry '%s' missing)",
                         key, name);
  out->src = zs->src;
  out->offset = e->offset;
  out->size = e->size;
  return GZ_OK;
}

/* A torch.save zip: its pickle is read into memory, its storages stay in
 * the source until their tensors are made. */
static GzStatus
torch_zip_read (const GzSource *src, const GzLimits *limits, GzStateDict *out, GzError *err)
{
  GzZip zip;
  GzStatus s = gz_zip_open (src, &zip, err);
  if (s != GZ_OK)
    return s;
  /* The pickle is <dir>/data.pkl; TorchScript archives also hold code/. */
  const GzZipEntry *pkl = NULL;
  for (int i = 0; i < zip.n; i++)
    {
      const GzZipEntry *e = &zip.entries[i];
      const char *slash = memchr (e->name, '/', e->name_len);
      if (slash == NULL)
        continue;
      size_t rest = e->name_len - (size_t) (slash + 1 - e->name);
      if (rest >= 5 && memcmp (slash + 1, "code/", 5) == 0)
        {
          gz_zip_close (&zip);
          return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                               "this file contains code (a TorchScript archive); export it to "
                               "ONNX or save its state_dict");
        }
      if (rest == 8 && memcmp (slash + 1, "data.pkl", 8) == 0)
        pkl = e;
    }
  if (pkl == NULL)
    {
      gz_zip_close (&zip);
      return gz_error_set (err, GZ_ERR_FORMAT, "not a torch.save file: the zip has no data.pkl");
    }
  ZipStorage zs = { src, &zip, pkl->name, pkl->name_len - 8 };
  const unsigned char *pickle;
  unsigned char *owned;
  s = gz_source_view (src, pkl->offset, pkl->size, &pickle, &owned, err);
  if (s == GZ_OK)
    s = gz_unpickle_state_dict (pickle, pkl->size, limits, zip_storage, &zs, out, err);
  free (owned);
  gz_zip_close (&zip);
  return s;
}

GzStatus
gz_torch_read (const void *bytes, size_t len, const GzLimits *limits, GzStateDict *out,
               GzError *err)
{
  const unsigned char *b = bytes;
  if (len >= 2 && b[0] == 0x80)
    return gz_torch_legacy_read (bytes, len, limits, out, err);
  GzSource src;
  gz_source_from_memory (&src, bytes, len);
  return torch_zip_read (&src, limits, out, err);
}

/* State dict → graph (`s`: how reading it went); frees the state dict. */
static GzStatus
build (GzStateDict *sd, GzStatus s, const char *arch, const GzLimits *limits, GzGraph **out,
       GzError *err)
{
  if (s == GZ_OK)
    {
      /* Lightning ("model.", "net."), DataParallel ("module."). */
      for (int round = 0; round < 3; round++)
        if (!gz_state_dict_strip_prefix (sd, "module.")
            && !gz_state_dict_strip_prefix (sd, "model.")
            && !gz_state_dict_strip_prefix (sd, "net."))
          break;
      s = gz_torchvision_build (sd, arch, limits, out, err);
    }
  gz_state_dict_free (sd);
  return s;
}

GzStatus
gz_weights_load_graph (const void *bytes, size_t len, const char *arch, const GzLimits *limits,
                       GzGraph **out, GzError *err)
{
  *out = NULL;
  if ((int64_t) len > limits->max_file_bytes)
    return gz_error_set (err, GZ_ERR_LIMIT,
                         "the weights file is %zu bytes, above the " GZ_LIMIT_FILE_BYTES
                         " limit of %lld",
                         len, (long long) limits->max_file_bytes);
  GzStateDict sd = { 0 };
  const unsigned char *b = bytes;
  bool torch = len >= 2 && ((b[0] == 'P' && b[1] == 'K') || b[0] == 0x80);
  GzStatus s = torch ? gz_torch_read (bytes, len, limits, &sd, err)
                     : gz_safetensors_read (bytes, len, limits, &sd, err);
  return build (&sd, s, arch, limits, out, err);
}

bool
gz_weights_file_is_zip (const void *head, size_t len)
{
  const unsigned char *b = head;
  return len >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;
}

GzStatus
gz_weights_load_zip_file (int fd, const char *path, const char *arch, const GzLimits *limits,
                          GzGraph **out, GzError *err)
{
  *out = NULL;
  GzSource src;
  GzStateDict sd = { 0 };
  GzStatus s = gz_source_from_fd (&src, fd, path, err);
  if (s == GZ_OK && src.size > (uint64_t) limits->max_file_bytes)
    s = gz_error_set (err, GZ_ERR_LIMIT,
                      "the weights file is %llu bytes, above the " GZ_LIMIT_FILE_BYTES
                      " limit of %lld",
                      (unsigned long long) src.size, (long long) limits->max_file_bytes);
  if (s == GZ_OK)
    s = torch_zip_read (&src, limits, &sd, err);
  /* Reads past a shrunk end fail; a rewrite of the same length does not,
   * so the file's identity is compared once all is read. */
  if (s == GZ_OK)
    s = gz_source_check_unchanged (&src, err);
  return build (&sd, s, arch, limits, out, err);
}
