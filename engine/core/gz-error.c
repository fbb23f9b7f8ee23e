/* gz-error.c — status codes and error messages
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdarg.h>
#include <stdio.h>

#include "gaze-engine.h"

GzStatus
gz_error_set (GzError *err, GzStatus code, const char *fmt, ...)
{
  if (err != NULL)
    {
      va_list ap;
      err->code = code;
      va_start (ap, fmt);
      vsnprintf (err->message, sizeof err->message, fmt, ap);
      va_end (ap);
    }
  return code;
}

const char *
gz_status_name (GzStatus code)
{
  switch (code)
    {
      case GZ_OK:
        return "ok";
      case GZ_ERR_IO:
        return "input/output error";
      case GZ_ERR_FORMAT:
        return "malformed file";
      case GZ_ERR_UNSUPPORTED:
        return "unsupported";
      case GZ_ERR_SHAPE:
        return "shape mismatch";
      case GZ_ERR_LIMIT:
        return "limit exceeded";
      case GZ_ERR_NOMEM:
        return "out of memory";
      case GZ_ERR_ARGUMENT:
        return "invalid argument";
      case GZ_ERR_NOT_APPLICABLE:
        return "not applicable";
      case GZ_ERR_CANCELLED:
        return "cancelled";
    }
  return "unknown error";
}
