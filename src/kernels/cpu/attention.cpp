#include "ouro/kernels/cpu/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ouro/kernels/cpu/parallel.h"
#include "ouro/kernels/cpu/register_tile.h"
#include "ouro/kernels/cpu/sanitizer_footprint.h"
#include "ouro/kernels/cpu/vector_math.h"

namespace ouro::kernels {
namespace {

// The block products use small_gemm's register tiles (kernels/cpu/register_tile.h).

// Queries per block and keys per block. One block of scores (32 x 64) and its gradient stay in
// L1; the key block is a multiple of both tile widths, so packed operands line up with tiles.
constexpr std::int64_t kQueryBlock = 32;
constexpr std::int64_t kKeyBlock = 64;

inline std::int64_t round_up(std::int64_t n, std::int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// C[0:rows, 0:cols] (+)= A B over kc terms, where A(i, p) = a[i*a_row + p*a_col] (any layout:
// its elements are broadcast one at a time) and B(p, j) = b[p*ldb + j] has NR readable
// columns (the packed operands are zero-padded to a multiple of NR). Rows past `rows` repeat
// the last row rather than read outside A; they are computed and not stored.
template <typename T, bool Accumulate>
[[gnu::always_inline]] inline void tile(std::int64_t kc, const T* a, std::int64_t a_row, std::int64_t a_col,
                                        std::int64_t rows, const T* __restrict b, std::int64_t ldb, T* __restrict c,
                                        std::int64_t ldc, std::int64_t cols) {
  constexpr int MR = Tiles<T>::mr, NR = Tiles<T>::nr;
  const T* row[MR];
  for (int i = 0; i < MR; ++i) row[i] = a + std::min<std::int64_t>(i, rows - 1) * a_row;
  T acc[MR][NR];
  for (int i = 0; i < MR; ++i)
#pragma omp simd
    for (int j = 0; j < NR; ++j) acc[i][j] = T(0);
  for (std::int64_t p = 0; p < kc; ++p) {
    const T* bp = b + p * ldb;
    const std::int64_t ap = p * a_col;
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const T ai = row[i][ap];
#pragma omp simd
      for (int j = 0; j < NR; ++j) acc[i][j] = multiply_add(ai, bp[j], acc[i][j]);
    }
  }
  for (std::int64_t i = 0; i < std::min<std::int64_t>(rows, MR); ++i) {
    T* out = c + i * ldc;
    if (cols == NR) {
#pragma omp simd
      for (int j = 0; j < NR; ++j) out[j] = Accumulate ? out[j] + acc[i][j] : acc[i][j];
    } else {
      for (std::int64_t j = 0; j < cols; ++j) out[j] = Accumulate ? out[j] + acc[i][j] : acc[i][j];
    }
  }
}

// C (+)= A B for an m x n result, tile by tile (A and B as in `tile`). Under ASan its
// footprint is checked once per call instead of at each access (sanitizer_footprint.h): the
// span of each of A's m rows, B's kc rows up to the NR-padded width the tiles read, and C's
// m x n block.
template <typename T, bool Accumulate>
OURO_FOOTPRINT_CHECKED void block_product(std::int64_t m, std::int64_t n, std::int64_t kc, const T* a,
                                          std::int64_t a_row, std::int64_t a_col, const T* b, std::int64_t ldb, T* c,
                                          std::int64_t ldc) {
  constexpr int MR = Tiles<T>::mr, NR = Tiles<T>::nr;
  if (kc > 0) {
    for (std::int64_t i = 0; i < m; ++i) check_footprint(a + i * a_row, static_cast<std::size_t>((kc - 1) * a_col + 1) * sizeof(T));
    check_footprint(b, static_cast<std::size_t>((kc - 1) * ldb + (n + NR - 1) / NR * NR) * sizeof(T));
  }
  for (std::int64_t i = 0; i < m; ++i) check_footprint(c + i * ldc, static_cast<std::size_t>(n) * sizeof(T));
  for (std::int64_t i = 0; i < m; i += MR)
    for (std::int64_t j = 0; j < n; j += NR)
      tile<T, Accumulate>(kc, a + i * a_row, a_row, a_col, std::min<std::int64_t>(MR, m - i), b + j, ldb,
                          c + i * ldc + j, ldc, std::min<std::int64_t>(NR, n - j));
}

// dst[t*ld + d] = src[t*stride + d] for t < rows, d < width; zero for width <= d < ld.
template <typename T>
void pack_rows(const T* src, std::int64_t stride, std::int64_t rows, std::int64_t width, std::int64_t ld, T* dst) {
  for (std::int64_t t = 0; t < rows; ++t) {
    std::copy(src + t * stride, src + t * stride + width, dst + t * ld);
    std::fill(dst + t * ld + width, dst + (t + 1) * ld, T(0));
  }
}

// dst[d*ld + t] = factor * src[t*stride + d] for t < rows, d < width; zero for rows <= t < ld.
// The t loop is forced to vectorise (strided loads become gathers): scalar, this transpose
// cost a third of the forward pass at T = 128, D = 32.
template <typename T>
void pack_transposed(const T* src, std::int64_t stride, std::int64_t rows, std::int64_t width, std::int64_t ld,
                     T factor, T* dst) {
  for (std::int64_t d = 0; d < width; ++d) {
    T* out = dst + d * ld;
    const T* in = src + d;
#pragma omp simd
    for (std::int64_t t = 0; t < rows; ++t) out[t] = factor * in[t * stride];
    std::fill(out + rows, out + ld, T(0));
  }
}

// An operand whose rows the block products read as B: the rows in place when the head
// dimension is a multiple of the tile width (the products then read whole tiles inside each
// row), otherwise a zero-padded copy in `scratch`.
template <typename T>
struct RowOperand {
  const T* data;
  std::int64_t ld;
};

template <typename T>
RowOperand<T> row_operand(const T* src, std::int64_t stride, std::int64_t rows, std::int64_t width, std::int64_t ld,
                          std::vector<T>& scratch) {
  if (width % Tiles<T>::nr == 0) return {src, stride};
  scratch.resize(static_cast<std::size_t>(rows * ld));
  pack_rows(src, stride, rows, width, ld, scratch.data());
  return {scratch.data(), ld};
}

// Keys of block [j0, j0 + n) that query i sees: the first `visible` of them.
inline std::int64_t visible_keys(const AttentionShape& s, std::int64_t i, std::int64_t j0, std::int64_t n) {
  if (!s.causal) return n;
  const std::int64_t last = i + (s.keys - s.queries);
  return std::clamp<std::int64_t>(last - j0 + 1, 0, n);
}

// Keys [0, end) that some query of block [i0, i1) sees.
inline std::int64_t key_end(const AttentionShape& s, std::int64_t i1) {
  return s.causal ? std::min(s.keys, i1 + (s.keys - s.queries)) : s.keys;
}

// One thread per (b, h) at a time, statically split: each output element is written by
// exactly one thread, in an order fixed by the shapes alone.
template <typename Body>
void for_each_head(const AttentionShape& s, Body&& body) {
  const std::int64_t problems = s.batch * s.heads;
  const std::int64_t work = problems * std::max<std::int64_t>(s.queries, 1) * s.keys * s.head_dim;
  const int threads = static_cast<int>(std::min<std::int64_t>(threads_for(work), problems));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    auto worker = body();  // per-thread workspace, reused across the thread's problems
#pragma omp for schedule(static)
    for (std::int64_t bh = 0; bh < problems; ++bh) worker(bh / s.heads, bh % s.heads);
  }
}

template <typename T>
T* at(T* base, AttentionStrides st, std::int64_t b, std::int64_t h) {
  return base + b * st.batch + h * st.head;
}

}  // namespace

template <typename T>
void attention_forward(const AttentionShape& s, T scale, const T* q, AttentionStrides qs, const T* k,
                       AttentionStrides ks, const T* v, AttentionStrides vs, T* out, AttentionStrides os, T* lse) {
  if (s.batch * s.heads * s.queries == 0) return;
  constexpr int NR = Tiles<T>::nr;
  const std::int64_t D = s.head_dim, ldk = round_up(s.keys, NR), ldd = round_up(D, NR);
  for_each_head(s, [&] {
    return [&, kt = std::vector<T>(D * ldk), v_scratch = std::vector<T>(),
            scores = std::vector<T>(kQueryBlock * kKeyBlock), acc = std::vector<T>(kQueryBlock * ldd),
            row_max = std::vector<T>(kQueryBlock), row_sum = std::vector<T>(kQueryBlock)](std::int64_t b,
                                                                                          std::int64_t h) mutable {
      const T* qh = at(q, qs, b, h);
      // K^T with the scale folded in, so the block products give the scaled scores directly.
      pack_transposed(at(k, ks, b, h), ks.time, s.keys, D, ldk, scale, kt.data());
      const RowOperand<T> vr = row_operand(at(v, vs, b, h), vs.time, s.keys, D, ldd, v_scratch);
      for (std::int64_t i0 = 0; i0 < s.queries; i0 += kQueryBlock) {
        const std::int64_t rows = std::min(kQueryBlock, s.queries - i0), end = key_end(s, i0 + rows);
        std::fill(row_max.begin(), row_max.end(), -std::numeric_limits<T>::infinity());
        std::fill(row_sum.begin(), row_sum.end(), T(0));
        std::fill(acc.begin(), acc.end(), T(0));
        for (std::int64_t j0 = 0; j0 < end; j0 += kKeyBlock) {
          const std::int64_t n = std::min(kKeyBlock, end - j0);
          block_product<T, false>(rows, n, D, qh + i0 * qs.time, qs.time, 1, kt.data() + j0, ldk, scores.data(),
                                  kKeyBlock);
          // Online softmax: rescale what the row gathered so far to the new running maximum.
          for (std::int64_t r = 0; r < rows; ++r) {
            T* p = scores.data() + r * kKeyBlock;
            const std::int64_t visible = visible_keys(s, i0 + r, j0, n);
            std::fill(p + visible, p + n, T(0));
            if (visible == 0) continue;
            T block_max = p[0];
#pragma omp simd reduction(max : block_max)
            for (std::int64_t j = 1; j < visible; ++j) block_max = p[j] > block_max ? p[j] : block_max;
            const T old_max = row_max[r];
            const T new_max = old_max > block_max ? old_max : block_max;
            T sum = 0;
#pragma omp simd reduction(+ : sum)
            for (std::int64_t j = 0; j < visible; ++j) {
              const T e = vector_exp(p[j] - new_max);
              p[j] = e;
              sum += e;
            }
            if (old_max != -std::numeric_limits<T>::infinity() && old_max != new_max) {
              const T rescale = std::exp(old_max - new_max);
              row_sum[r] *= rescale;
              T* a = acc.data() + r * ldd;
#pragma omp simd
              for (std::int64_t d = 0; d < D; ++d) a[d] *= rescale;
            }
            row_sum[r] += sum;
            row_max[r] = new_max;
          }
          block_product<T, true>(rows, D, n, scores.data(), kKeyBlock, 1, vr.data + j0 * vr.ld, vr.ld, acc.data(),
                                 ldd);
        }
        T* lse_rows = lse + (b * s.heads + h) * s.queries + i0;
        for (std::int64_t r = 0; r < rows; ++r) {
          T* o = at(out, os, b, h) + (i0 + r) * os.time;
          const T* a = acc.data() + r * ldd;
          const T inverse = T(1) / row_sum[r];
#pragma omp simd
          for (std::int64_t d = 0; d < D; ++d) o[d] = a[d] * inverse;
          if (lse) lse_rows[r] = row_max[r] + std::log(row_sum[r]);
        }
      }
    };
  });
}

template <typename T>
void attention_backward(const AttentionShape& s, T scale, const T* q, AttentionStrides qs, const T* k,
                        AttentionStrides ks, const T* v, AttentionStrides vs, const T* out, AttentionStrides os,
                        const T* grad_out, AttentionStrides gs, const T* lse, T* grad_q, AttentionStrides dqs,
                        T* grad_k, AttentionStrides dks, T* grad_v, AttentionStrides dvs, bool assign) {
  if (s.batch * s.heads * s.queries == 0 || (!grad_q && !grad_k && !grad_v)) {
    if (assign)  // no queries: k and v get zero gradients
      for (std::int64_t b = 0; b < s.batch; ++b)
        for (std::int64_t h = 0; h < s.heads; ++h)
          for (std::int64_t j = 0; j < s.keys; ++j) {
            if (grad_k) std::fill_n(at(grad_k, dks, b, h) + j * dks.time, s.head_dim, T(0));
            if (grad_v) std::fill_n(at(grad_v, dvs, b, h) + j * dvs.time, s.head_dim, T(0));
          }
    return;
  }
  constexpr int NR = Tiles<T>::nr;
  const std::int64_t D = s.head_dim, ldk = round_up(s.keys, NR), ldd = round_up(D, NR);
  for_each_head(s, [&] {
    return [&, kt = std::vector<T>(D * ldk), vt = std::vector<T>(D * ldk), k_scratch = std::vector<T>(),
            q_scratch = std::vector<T>(), g_scratch = std::vector<T>(),
            probabilities = std::vector<T>(kQueryBlock * kKeyBlock), dscores = std::vector<T>(kQueryBlock * kKeyBlock),
            delta = std::vector<T>(s.queries)](std::int64_t b, std::int64_t h) mutable {
      const T* qh = at(q, qs, b, h);
      const T* gh = at(grad_out, gs, b, h);
      const T* oh = at(out, os, b, h);
      const T* lse_h = lse + (b * s.heads + h) * s.queries;
      // The products add into the gradient buffers directly, through their strides.
      T* dq = grad_q ? at(grad_q, dqs, b, h) : nullptr;
      T* dk = grad_k ? at(grad_k, dks, b, h) : nullptr;
      T* dv = grad_v ? at(grad_v, dvs, b, h) : nullptr;
      pack_transposed(at(k, ks, b, h), ks.time, s.keys, D, ldk, scale, kt.data());
      pack_transposed(at(v, vs, b, h), vs.time, s.keys, D, ldk, T(1), vt.data());
      const RowOperand<T> kr = row_operand(at(k, ks, b, h), ks.time, s.keys, D, ldd, k_scratch);
      const RowOperand<T> qr = row_operand(qh, qs.time, s.queries, D, ldd, q_scratch);
      const RowOperand<T> gr = row_operand(gh, gs.time, s.queries, D, ldd, g_scratch);
      // delta_i = sum_d dO_id O_id = sum_j P_ij dP_ij, the softmax backward's row term.
      for (std::int64_t i = 0; i < s.queries; ++i) {
        const T* g = gh + i * gs.time;
        const T* o = oh + i * os.time;
        T sum = 0;
#pragma omp simd reduction(+ : sum)
        for (std::int64_t d = 0; d < D; ++d) sum += g[d] * o[d];
        delta[i] = sum;
      }
      for (std::int64_t i0 = 0; i0 < s.queries; i0 += kQueryBlock) {
        const std::int64_t rows = std::min(kQueryBlock, s.queries - i0), end = key_end(s, i0 + rows);
        // With `assign`, each gradient row is set by its first product and added to by the
        // rest: dq's rows first meet key block 0; key rows [seen, end) are new to this query
        // block (key_end only grows with i0, so every key row is new exactly once).
        const std::int64_t seen = assign ? (i0 == 0 ? 0 : key_end(s, i0)) : s.keys;
        if (assign && end == 0 && dq)  // no keys at all: the gradient is zero
          for (std::int64_t r = 0; r < rows; ++r) std::fill_n(dq + (i0 + r) * dqs.time, D, T(0));
        for (std::int64_t j0 = 0; j0 < end; j0 += kKeyBlock) {
          const std::int64_t n = std::min(kKeyBlock, end - j0);
          T* p = probabilities.data();
          T* ds = dscores.data();
          block_product<T, false>(rows, n, D, qh + i0 * qs.time, qs.time, 1, kt.data() + j0, ldk, p, kKeyBlock);
          block_product<T, false>(rows, n, D, gh + i0 * gs.time, gs.time, 1, vt.data() + j0, ldk, ds, kKeyBlock);
          for (std::int64_t r = 0; r < rows; ++r) {
            T* pr = p + r * kKeyBlock;
            T* dr = ds + r * kKeyBlock;
            const std::int64_t visible = visible_keys(s, i0 + r, j0, n);
            const T row_lse = lse_h[i0 + r], row_delta = delta[i0 + r], sc = scale;
#pragma omp simd
            for (std::int64_t j = 0; j < visible; ++j) {
              const T prob = vector_exp(pr[j] - row_lse);
              pr[j] = prob;
              dr[j] = prob * (dr[j] - row_delta) * sc;  // gradient of the unscaled score
            }
            std::fill(pr + visible, pr + n, T(0));
            std::fill(dr + visible, dr + n, T(0));
          }
          // dV_j += P^T dO, dK_j += dS^T Q (key rows below `seen` add, the others are set),
          // dQ += dS K_j (set by key block 0 under `assign`).
          const std::int64_t old_keys = std::clamp<std::int64_t>(seen - j0, 0, n);
          if (dv) {
            block_product<T, true>(old_keys, D, rows, p, 1, kKeyBlock, gr.data + i0 * gr.ld, gr.ld,
                                   dv + j0 * dvs.time, dvs.time);
            block_product<T, false>(n - old_keys, D, rows, p + old_keys, 1, kKeyBlock, gr.data + i0 * gr.ld, gr.ld,
                                    dv + (j0 + old_keys) * dvs.time, dvs.time);
          }
          if (dk) {
            block_product<T, true>(old_keys, D, rows, ds, 1, kKeyBlock, qr.data + i0 * qr.ld, qr.ld,
                                   dk + j0 * dks.time, dks.time);
            block_product<T, false>(n - old_keys, D, rows, ds + old_keys, 1, kKeyBlock, qr.data + i0 * qr.ld, qr.ld,
                                    dk + (j0 + old_keys) * dks.time, dks.time);
          }
          if (dq) {
            if (assign && j0 == 0)
              block_product<T, false>(rows, D, n, ds, kKeyBlock, 1, kr.data, kr.ld, dq + i0 * dqs.time, dqs.time);
            else
              block_product<T, true>(rows, D, n, ds, kKeyBlock, 1, kr.data + j0 * kr.ld, kr.ld, dq + i0 * dqs.time,
                                     dqs.time);
          }
        }
      }
    };
  });
}

#define OURO_ATTENTION_INSTANTIATE(T)                                                                              \
  template void attention_forward<T>(const AttentionShape&, T, const T*, AttentionStrides, const T*,               \
                                     AttentionStrides, const T*, AttentionStrides, T*, AttentionStrides, T*);      \
  template void attention_backward<T>(const AttentionShape&, T, const T*, AttentionStrides, const T*,              \
                                      AttentionStrides, const T*, AttentionStrides, const T*, AttentionStrides,    \
                                      const T*, AttentionStrides, const T*, T*, AttentionStrides, T*,              \
                                      AttentionStrides, T*, AttentionStrides, bool);
OURO_ATTENTION_INSTANTIATE(float)
OURO_ATTENTION_INSTANTIATE(double)
#undef OURO_ATTENTION_INSTANTIATE

}  // namespace ouro::kernels
