/* gz-torch-legacy.h — torch.save files from before PyTorch 1.6 (no zip)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Such a file is a row of pickles — magic number, protocol version, system
 * info, the saved object, the sorted list of storage keys — followed by each
 * storage in that order as an 8-byte little-endian element count and its raw
 * bytes.
 */
#pragma once

#include "gz-state-dict.h"

/* True when `bytes` starts with the pickled legacy magic number. */
bool gz_torch_legacy_sniff (const void *bytes, size_t len);

GzStatus gz_torch_legacy_read (const void *bytes, size_t len, const GzLimits *limits,
                               GzStateDict *out, GzError *err);
