/* gz-ops.h — the operator tables each family exports (NULL-terminated)
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gz-graph.h"

extern const GzOpDef *const gz_ops_nn[];
extern const GzOpDef *const gz_ops_tensor[];
