/* gz-torchvision.h — torchvision architectures rebuilt from their state dicts
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gz-graph.h"
#include "gz-state-dict.h"

/* Builds the graph of a torchvision architecture from a state dict (whose
 * tensors it takes: sd is empty afterwards). arch NULL: recognised from the
 * keys. The graph's producer says what was recognised, e.g. "torchvision
 * resnet50, 3 classes, 1-channel input (from weights)". */
GzStatus gz_torchvision_build (GzStateDict *sd, const char *arch, const GzLimits *limits,
                               GzGraph **out, GzError *err);
