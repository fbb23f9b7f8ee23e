/* gz-limits.c — the resource limits: defaults, GAZE_LIMITS, "KEY=VALUE,…"
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gaze-engine.h"
#include "gz-limits.h"

static const struct
{
  const char *key;
  size_t offset;
} keys[] = {
  { GZ_LIMIT_FILE_BYTES, offsetof (GzLimits, max_file_bytes) },
  { GZ_LIMIT_TENSOR_ELEMENTS, offsetof (GzLimits, max_tensor_elements) },
  { GZ_LIMIT_NODES, offsetof (GzLimits, max_nodes) },
  { GZ_LIMIT_ACTIVATION_BYTES, offsetof (GzLimits, max_activation_bytes) },
  { GZ_LIMIT_IMAGE_PIXELS, offsetof (GzLimits, max_image_pixels) },
};

static void
limits_builtin (GzLimits *limits)
{
  limits->max_file_bytes = INT64_C (2) << 30;
  limits->max_tensor_elements = INT64_C (1) << 31;
  limits->max_nodes = 100000;
  limits->max_activation_bytes = INT64_C (4) << 30;
  limits->max_image_pixels = 100 * 1000 * 1000;
}

void
gz_limits_default (GzLimits *limits)
{
  limits_builtin (limits);
  const char *env = getenv ("GAZE_LIMITS");
  if (env == NULL || env[0] == '\0')
    return;
  GzLimits parsed = *limits;
  GzError err = { 0 };
  if (gz_limits_parse (env, &parsed, &err) == GZ_OK)
    *limits = parsed;
  else
    {
      static bool warned;
      if (!warned)
        fprintf (stderr, "gaze: ignoring GAZE_LIMITS: %s\n", err.message);
      warned = true;
    }
}

GzStatus
gz_limits_parse (const char *spec, GzLimits *limits, GzError *err)
{
  GzLimits out = *limits;
  const char *p = spec != NULL ? spec : "";
  while (*p != '\0')
    {
      size_t len = strcspn (p, ",");
      char item[128];
      if (len >= sizeof item)
        return gz_error_set (err, GZ_ERR_ARGUMENT, "limits: '%.*s…' is too long", 32, p);
      memcpy (item, p, len);
      item[len] = '\0';
      p += len;
      if (*p == ',')
        p++;
      if (item[0] == '\0')
        continue;
      char *eq = strchr (item, '=');
      if (eq == NULL)
        return gz_error_set (err, GZ_ERR_ARGUMENT, "limits: '%s' is not KEY=VALUE", item);
      *eq = '\0';
      const char *value = eq + 1;
      size_t k = 0;
      while (k < sizeof keys / sizeof keys[0] && strcmp (keys[k].key, item) != 0)
        k++;
      if (k == sizeof keys / sizeof keys[0])
        return gz_error_set (err, GZ_ERR_ARGUMENT,
                             "limits: unknown key '%s' (" GZ_LIMIT_FILE_BYTES
                             ", " GZ_LIMIT_TENSOR_ELEMENTS ", " GZ_LIMIT_NODES
                             ", " GZ_LIMIT_ACTIVATION_BYTES ", " GZ_LIMIT_IMAGE_PIXELS ")",
                             item);
      int64_t v;
      if (strcmp (value, "unlimited") == 0)
        v = INT64_MAX;
      else
        {
          char *end;
          errno = 0;
          long long n = value[0] >= '0' && value[0] <= '9' ? strtoll (value, &end, 10) : -1;
          int shift = 0;
          if (n >= 0 && errno == 0)
            switch (*end)
              {
                case 'K':
                case 'k':
                  shift = 10;
                  end++;
                  break;
                case 'M':
                case 'm':
                  shift = 20;
                  end++;
                  break;
                case 'G':
                case 'g':
                  shift = 30;
                  end++;
                  break;
                case 'T':
                case 't':
                  shift = 40;
                  end++;
                  break;
                default:
                  break;
              }
          if (n <= 0 || errno != 0 || *end != '\0' || n > (INT64_MAX >> shift))
            return gz_error_set (err, GZ_ERR_ARGUMENT,
                                 "limits: %s must be a positive integer (K, M, G, T suffixes "
                                 "allowed) or 'unlimited', not '%s'",
                                 item, value);
          v = (int64_t) n << shift;
        }
      memcpy ((char *) &out + keys[k].offset, &v, sizeof v);
    }
  *limits = out;
  return GZ_OK;
}

const char *
gz_limits_key_in (const char *message)
{
  if (message == NULL)
    return NULL;
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
    {
      char named[64];
      snprintf (named, sizeof named, "the %s limit", keys[k].key);
      if (strstr (message, named) != NULL)
        return keys[k].key;
    }
  return NULL;
}
