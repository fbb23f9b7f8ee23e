/* gz-source.c — the bytes of a weights file: in memory, or read from it on demand
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gz-graph.h"
#include "gz-source.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

enum
{
  PAGE = 4096,
  HUGE_PAGE = 2 << 20,
  POPULATE_FROM = 64 << 10, /* smaller buffers come from the heap's pages */
};

void
gz_source_from_memory (GzSource *src, const void *bytes, size_t len)
{
  memset (src, 0, sizeof *src);
  src->bytes = bytes;
  src->fd = -1;
  src->size = len;
}

GzStatus
gz_source_from_fd (GzSource *src, int fd, const char *path, GzError *err)
{
  memset (src, 0, sizeof *src);
  src->fd = fd;
  src->path = path;
  if (fstat (fd, &src->st) != 0 || src->st.st_size < 0)
    return gz_error_set (err, GZ_ERR_IO, "cannot read '%s': %s", path ? path : "(file)",
                         strerror (errno));
  src->size = (uint64_t) src->st.st_size;
  return GZ_OK;
}

static GzStatus
changed (const GzSource *src, GzError *err)
{
  return gz_error_set (err, GZ_ERR_IO,
                       "'%s' changed while it was read (truncated or rewritten); open it again "
                       "once it is complete",
                       src->path ? src->path : "the file");
}

static GzStatus
check_inside (const GzSource *src, uint64_t off, size_t n, GzError *err)
{
  if (off > src->size || n > src->size - off)
    return gz_error_set (err, GZ_ERR_FORMAT,
                         "damaged file: %zu bytes at offset %llu lie outside its %llu bytes", n,
                         (unsigned long long) off, (unsigned long long) src->size);
  return GZ_OK;
}

GzStatus
gz_source_read (const GzSource *src, uint64_t off, void *dst, size_t n, GzError *err)
{
  GzStatus s = check_inside (src, off, n, err);
  if (s != GZ_OK)
    return s;
  if (src->bytes != NULL)
    {
      if (n > 0)
        memcpy (dst, src->bytes + off, n);
      return GZ_OK;
    }
  size_t done = 0;
  while (done < n)
    {
      ssize_t r = pread (src->fd, (unsigned char *) dst + done, n - done, (off_t) (off + done));
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return gz_error_set (err, GZ_ERR_IO, "cannot read '%s': %s",
                             src->path ? src->path : "the file", strerror (errno));
      if (r == 0)
        return changed (src, err);
      done += (size_t) r;
    }
  return GZ_OK;
}

GzStatus
gz_source_view (const GzSource *src, uint64_t off, size_t n, const unsigned char **out,
                unsigned char **owned, GzError *err)
{
  *out = NULL;
  *owned = NULL;
  if (src->bytes != NULL)
    {
      GzStatus s = check_inside (src, off, n, err);
      if (s != GZ_OK)
        return s;
      *out = src->bytes + off;
      return GZ_OK;
    }
  unsigned char *copy = malloc (n > 0 ? n : 1);
  if (copy == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  GzStatus s = gz_source_read (src, off, copy, n, err);
  if (s != GZ_OK)
    {
      free (copy);
      return s;
    }
  *out = *owned = copy;
  return GZ_OK;
}

GzStatus
gz_source_check_unchanged (const GzSource *src, GzError *err)
{
  if (src->bytes != NULL)
    return GZ_OK;
  struct stat now;
  if (fstat (src->fd, &now) != 0)
    return gz_error_set (err, GZ_ERR_IO, "cannot read '%s': %s", src->path ? src->path : "the file",
                         strerror (errno));
  if (now.st_size != src->st.st_size || now.st_ino != src->st.st_ino || now.st_dev != src->st.st_dev
      || now.st_mtim.tv_sec != src->st.st_mtim.tv_sec
      || now.st_mtim.tv_nsec != src->st.st_mtim.tv_nsec)
    return changed (src, err);
  return GZ_OK;
}

GzTensor *
gz_source_tensor_new (int ndim, const int64_t *dims, GzError *err)
{
  int64_t n = gz_shape_numel (ndim, dims);
  if (ndim < 0 || ndim > GZ_MAX_DIMS || n < 0 || (uint64_t) n > SIZE_MAX / 16)
    {
      gz_error_set (err, GZ_ERR_LIMIT, "tensor shape has a negative dimension or overflows");
      return NULL;
    }
  GzTensor *t = calloc (1, sizeof *t);
  if (t == NULL)
    {
      gz_error_set (err, GZ_ERR_NOMEM, "out of memory allocating a tensor header");
      return NULL;
    }
  gz_tensor_set_shape (t, GZ_DTYPE_FLOAT, ndim, dims);
  size_t bytes = n > 0 ? (size_t) n * sizeof (float) : 1;
  void *data = NULL;
  if (bytes >= POPULATE_FROM)
    {
      /* Hints only: whatever they do not do, the first write does. */
      size_t align = bytes >= HUGE_PAGE ? HUGE_PAGE : PAGE;
      if (posix_memalign (&data, align, bytes) != 0)
        data = NULL;
      else
        {
          if (align == HUGE_PAGE)
            (void) madvise (data, bytes & ~(size_t) (HUGE_PAGE - 1), MADV_HUGEPAGE);
          (void) madvise (data, bytes, MADV_POPULATE_WRITE);
        }
    }
  else
    data = malloc (bytes);
  if (data == NULL)
    {
      free (t);
      gz_error_set (err, GZ_ERR_NOMEM, "out of memory allocating %lld elements", (long long) n);
      return NULL;
    }
  t->data = data;
  t->owns_data = true;
  return t;
}
