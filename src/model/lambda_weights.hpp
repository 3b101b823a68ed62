// LambdaLoss-style pair weights of GNAQ's rank loss (DESIGN §3): |ΔNDCG| of swapping a line's
// positive and negative in its user's list of this step. No torch.
#pragma once

#include <cstdint>
#include <vector>

namespace tkg {

// Each user's list in the step is its lines' positives and negatives, ranked by score (ties:
// positives of earlier lines first); the pair (i, j) of line k gets
// |1/log2(1+r_i) − 1/log2(1+r_j)| / IDCG_u, with gains 1 for positives and 0 for negatives and
// IDCG over the user's m positives. Lines of a user must be contiguous.
//   line_user [n] (any user key), s_pos, s_neg: [n] scores -> [n] weights
std::vector<float> lambda_weights(const std::vector<int64_t>& line_user, const float* s_pos, const float* s_neg);

}  // namespace tkg
