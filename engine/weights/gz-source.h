/* gz-source.h — the bytes of a weights file: in memory, or read from it on demand
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A torch.save zip is mostly raw tensor storages. Read from an open file, each
 * storage goes with pread() straight into the buffer of its tensor: no
 * file-sized copy, no mapping (a mapped file that shrinks under us would kill
 * the process with SIGBUS). Every read is bounded by the size the file had
 * when it was opened; a short read or a changed size, inode or modification
 * time is an error that says the file changed while it was read.
 */
#pragma once

#include <sys/stat.h>

#include "gaze-engine.h"

typedef struct
{
  const unsigned char *bytes; /* the whole file in memory, or NULL: read from fd */
  int fd;
  uint64_t size;
  const char *path; /* for messages; may be NULL */
  struct stat st; /* at open (fd sources) */
} GzSource;

void gz_source_from_memory (GzSource *src, const void *bytes, size_t len);
/* Records the file's size and identity now; fd stays the caller's. */
GzStatus gz_source_from_fd (GzSource *src, int fd, const char *path, GzError *err);

/* Copies n bytes at off into dst. */
GzStatus gz_source_read (const GzSource *src, uint64_t off, void *dst, size_t n, GzError *err);
/* The n bytes at off: a pointer into memory sources, else a malloc'ed copy
 * returned in *owned too (free it). */
GzStatus gz_source_view (const GzSource *src, uint64_t off, size_t n, const unsigned char **out,
                         unsigned char **owned, GzError *err);
/* An error when an fd source's file no longer has the size, inode and
 * modification time it had when opened. */
GzStatus gz_source_check_unchanged (const GzSource *src, GzError *err);

/* A float32 tensor whose data is left uninitialised for a reader to fill.
 * Large buffers are aligned for transparent huge pages and populated in one
 * call: faulting ~25 000 4 KiB pages one by one is most of the time a 100 MB
 * load takes otherwise (measured on a virtual machine, where faults are dear). */
GzTensor *gz_source_tensor_new (int ndim, const int64_t *dims, GzError *err);
