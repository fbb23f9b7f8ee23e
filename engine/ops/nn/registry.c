/* registry.c — the nn operators known to the engine
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gz-ops.h"

const GzOpDef *const gz_ops_nn[] = {
  NULL,
};
