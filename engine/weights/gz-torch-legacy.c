/* gz-torch-legacy.c — torch.save files from before PyTorch 1.6 (no zip)
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz-limits.h"
#include "gz-torch-legacy.h"
#include "gz-unpickle.h"

/* 0x1950a86a20f9469cfc6c as pickle's LONG1 writes it: opcode, length, bytes
 * little-endian. */
static const unsigned char legacy_magic[]
    = { 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19 };

typedef struct
{
  char key[64];
  GzStorageType type;
  int64_t numel;
  const unsigned char *data; /* NULL until the storage area is walked */
  size_t size;
} LegacyStorage;

typedef struct
{
  LegacyStorage *s;
  int n, cap;
  int64_t max_storages; /* bounded by the file: each takes at least 8 bytes */
  GzSource file; /* the whole file, in memory */
} StorageTable;

/* The length of the first pickle when it is the magic number, else 0. (The
 * number is wider than the unpickler's integers, so it is matched here.) */
static size_t
magic_pickle_len (const unsigned char *b, size_t len)
{
  /* PROTO n, an optional FRAME (protocol 4+), the number, STOP. */
  if (len < 2 || b[0] != 0x80)
    return 0;
  size_t at = 2;
  if (len > at && b[at] == 0x95)
    at += 9;
  if (len < at + sizeof legacy_magic + 1 || memcmp (b + at, legacy_magic, sizeof legacy_magic) != 0
      || b[at + sizeof legacy_magic] != '.')
    return 0;
  return at + sizeof legacy_magic + 1;
}

bool
gz_torch_legacy_sniff (const void *bytes, size_t len)
{
  return magic_pickle_len (bytes, len) > 0;
}

static LegacyStorage *
table_find (const StorageTable *t, const char *key, size_t key_len)
{
  int lo = 0, hi = t->n - 1;
  while (lo <= hi)
    {
      int mid = lo + (hi - lo) / 2;
      int c = strncmp (t->s[mid].key, key, key_len);
      if (c == 0 && t->s[mid].key[key_len] != '\0')
        c = 1;
      if (c == 0)
        return &t->s[mid];
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid - 1;
    }
  return NULL;
}

static GzStatus
storage_seen (void *user, const char *key, GzStorageType type, int64_t numel, GzError *err)
{
  StorageTable *t = user;
  if (t->n >= t->max_storages)
    return gz_error_set (err, GZ_ERR_FORMAT, "more storages than the file can hold");
  if (t->n >= t->cap)
    {
      int cap = t->cap ? t->cap * 2 : 64;
      LegacyStorage *s = realloc (t->s, (size_t) cap * sizeof *s);
      if (s == NULL)
        return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      t->s = s;
      t->cap = cap;
    }
  LegacyStorage *s = &t->s[t->n++];
  memset (s, 0, sizeof *s);
  snprintf (s->key, sizeof s->key, "%s", key); /* the unpickler bounds keys to 63 bytes */
  s->type = type;
  s->numel = numel;
  return GZ_OK;
}

static int
by_key (const void *a, const void *b)
{
  return strcmp (((const LegacyStorage *) a)->key, ((const LegacyStorage *) b)->key);
}

typedef struct
{
  StorageTable *table;
  const unsigned char *p, *end; /* the storage area, walked in key-list order */
} StorageWalk;

static GzStatus
storage_listed (void *user, const char *key, size_t key_len, GzError *err)
{
  StorageWalk *w = user;
  LegacyStorage *s = table_find (w->table, key, key_len);
  if (s == NULL || s->data != NULL)
    return gz_error_set (err, GZ_ERR_FORMAT, "the storage list names '%.*s', which the pickle %s",
                         (int) (key_len > 63 ? 63 : key_len), key,
                         s == NULL ? "does not use" : "lists twice");
  if (w->end - w->p < 8)
    return gz_error_set (err, GZ_ERR_FORMAT,
                         "the file ends before storage '%s' (truncated legacy torch.save file)",
                         s->key);
  uint64_t count = 0;
  for (int i = 7; i >= 0; i--)
    count = count << 8 | w->p[i];
  w->p += 8;
  size_t elsize = gz_storage_element_size (s->type);
  size_t left = (size_t) (w->end - w->p);
  if (count > left / elsize)
    return gz_error_set (err, GZ_ERR_FORMAT,
                         "storage '%s' claims %llu elements but the file ends %zu bytes later "
                         "(truncated legacy torch.save file)",
                         s->key, (unsigned long long) count, left);
  s->data = w->p;
  s->size = (size_t) count * elsize;
  w->p += s->size;
  return GZ_OK;
}

static GzStatus
legacy_storage (void *user, const char *key, GzStorageType type, int64_t numel, GzStorageBytes *out,
                GzError *err)
{
  (void) type;
  (void) numel;
  const StorageTable *table = user;
  const LegacyStorage *s = table_find (user, key, strlen (key));
  if (s == NULL || s->data == NULL)
    return gz_error_set (err, GZ_ERR_FORMAT, "the file has no data for storage '%s'", key);
  out->src = &table->file;
  out->offset = (uint64_t) (s->data - table->file.bytes);
  out->size = s->size;
  return GZ_OK;
}

GzStatus
gz_torch_legacy_read (const void *bytes, size_t len, const GzLimits *limits, GzStateDict *out,
                      GzError *err)
{
  const unsigned char *b = bytes, *end = b + len;
  size_t magic_len = magic_pickle_len (b, len);
  if (magic_len == 0)
    return gz_error_set (err, GZ_ERR_FORMAT,
                         "not a torch.save file: a pickle without torch's magic number");
  StorageTable table = { .max_storages = (int64_t) (len / 8) };
  gz_source_from_memory (&table.file, bytes, len);
  GzPickleScan plain = { 0 };
  GzPickleScan main_scan = { .storage_seen = storage_seen, .user = &table };
  const unsigned char *p = b + magic_len, *main_pickle = NULL;
  size_t used = 0, main_len = 0;
  GzStatus s = GZ_OK;
  /* Protocol version, system info, the object itself. */
  for (int i = 0; s == GZ_OK && i < 3; i++)
    {
      s = gz_unpickle_scan (p, (size_t) (end - p), limits, i == 2 ? &main_scan : &plain, &used,
                            err);
      if (i == 2)
        {
          main_pickle = p;
          main_len = used;
        }
      p += used;
    }
  if (s == GZ_OK && table.n > 0)
    {
      qsort (table.s, (size_t) table.n, sizeof *table.s, by_key);
      /* A storage shared by several tensors is seen once per tensor. */
      int kept = 1;
      for (int i = 1; i < table.n; i++)
        if (strcmp (table.s[kept - 1].key, table.s[i].key) != 0)
          table.s[kept++] = table.s[i];
      table.n = kept;
    }
  if (s == GZ_OK)
    {
      /* The key list, then the storages it names, in its order. */
      StorageWalk walk = { &table, NULL, end };
      GzPickleScan list_scan = { .list_string = storage_listed, .user = &walk };
      size_t list_len = 0;
      /* The walk starts where the list pickle ends, known only after it:
       * scan once for its length, then again to walk. */
      s = gz_unpickle_scan (p, (size_t) (end - p), limits, &plain, &list_len, err);
      if (s == GZ_OK)
        {
          walk.p = p + list_len;
          s = gz_unpickle_scan (p, list_len, limits, &list_scan, &used, err);
        }
    }
  if (s == GZ_OK)
    s = gz_unpickle_state_dict (main_pickle, main_len, limits, legacy_storage, &table, out, err);
  free (table.s);
  return s;
}
