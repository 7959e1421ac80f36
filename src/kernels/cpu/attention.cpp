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

// Queries per block and keys per block. One block of scores (64 keys x 32 queries) and its
// gradient stay in L1; the query block is the float tile's width (its lanes, below) and the key
// block a multiple of the tile's height.
constexpr std::int64_t kQueryBlock = 32;
constexpr std::int64_t kKeyBlock = 64;

inline std::int64_t round_up(std::int64_t n, std::int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// The MR x NR tile C (+)= A B over kc terms, where A(i, p) = a[i*a_row + p*a_col] (any layout:
// its elements are broadcast one at a time) and B(p, j) = b[p*ldb + j] has NR readable
// columns (the packed operands are zero-padded to a multiple of NR). Rows of A past `rows`
// repeat row 0 rather than read outside A. Every accumulator is indexed by constants only, so
// GCC keeps the tile in registers; block_product stores partial tiles through a local copy
// (with a runtime bound in the store, GCC kept the whole tile in memory, zeroed and copied with
// string instructions on every call: a fifth of the block products' time).
template <typename T, bool Accumulate>
[[gnu::always_inline]] inline void tile(std::int64_t kc, const T* a, std::int64_t a_row, std::int64_t a_col,
                                        std::int64_t rows, const T* __restrict b, std::int64_t ldb, T* __restrict c,
                                        std::int64_t ldc) {
  constexpr int MR = Tiles<T>::mr, NR = Tiles<T>::nr;
  std::int64_t row_offset[MR];
  for (int i = 0; i < MR; ++i) row_offset[i] = i < rows ? i * a_row : 0;
  // The first term sets the accumulators (kc >= 1 here): zeroing them first, GCC also zeroed
  // a copy of the tile in memory that nothing read.
  T acc[MR][NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    const T ai = a[row_offset[i]];
#pragma omp simd
    for (int j = 0; j < NR; ++j) acc[i][j] = ai * b[j];
  }
  for (std::int64_t p = 1; p < kc; ++p) {
    const T* bp = b + p * ldb;
    const T* ap = a + p * a_col;
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const T ai = ap[row_offset[i]];
#pragma omp simd
      for (int j = 0; j < NR; ++j) acc[i][j] = multiply_add(ai, bp[j], acc[i][j]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    T* out = c + i * ldc;
#pragma omp simd
    for (int j = 0; j < NR; ++j) out[j] = Accumulate ? out[j] + acc[i][j] : acc[i][j];
  }
}

// C (+)= A B for an m x n result, tile by tile (A and B as in `tile`); a tile cut by C's edge
// is computed into a local buffer and the part inside C stored from there. Under ASan its
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
  // An empty sum on its own path: left in the tiles, GCC stored the zero tile of the kc = 0
  // case unconditionally (a rep stos before every tile) and then overwrote it.
  if (kc <= 0) {
    if (!Accumulate)
      for (std::int64_t i = 0; i < m; ++i) std::fill_n(c + i * ldc, n, T(0));
    return;
  }
  for (std::int64_t i = 0; i < m; i += MR) {
    const std::int64_t rows = std::min<std::int64_t>(MR, m - i);
    for (std::int64_t j = 0; j < n; j += NR) {
      const std::int64_t cols = std::min<std::int64_t>(NR, n - j);
      if (rows == MR && cols == NR) {
        tile<T, Accumulate>(kc, a + i * a_row, a_row, a_col, rows, b + j, ldb, c + i * ldc + j, ldc);
        continue;
      }
      alignas(64) T edge[MR * NR];
      tile<T, false>(kc, a + i * a_row, a_row, a_col, rows, b + j, ldb, edge, NR);
      for (std::int64_t r = 0; r < rows; ++r) {
        T* out = c + (i + r) * ldc + j;
        for (std::int64_t col = 0; col < cols; ++col) out[col] = Accumulate ? out[col] + edge[r * NR + col] : edge[r * NR + col];
      }
    }
  }
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

// Query lane of block i0 from which key j is visible: query i sees key j when
// j <= i + (keys - queries), so lanes below the returned one mask it (all of them: kQueryBlock).
inline std::int64_t first_visible_lane(const AttentionShape& s, std::int64_t i0, std::int64_t j) {
  if (!s.causal) return 0;
  return std::clamp<std::int64_t>(j - (s.keys - s.queries) - i0, 0, kQueryBlock);
}

// Keys [0, end) that some query of block [i0, i1) sees.
inline std::int64_t key_end(const AttentionShape& s, std::int64_t i1) {
  return s.causal ? std::clamp<std::int64_t>(i1 + (s.keys - s.queries), 0, s.keys) : s.keys;
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

// Both passes hold a block of scores transposed, [key][query]: keys are the rows, the
// kQueryBlock queries of the block the lanes. The softmax's per-query quantities (running
// maximum, sum, log-sum-exp, the backward's delta) are then vectors across the lanes, and every
// step of the softmax a vertical operation over full vectors: no per-row horizontal maximum or
// sum, no short masked tails, no scalar exp per row. With the gpt workload's head dimension
// (32), where the softmax costs about as much as the products, this and the tile fixes above
// made the fused attention 1.36x faster than with the blocks held [query][key] (bench
// attention/gpt/fused, the same at 1 and 2 threads). The products read the transposed block
// through strides (block_product takes any layout of A).
template <typename T>
void attention_forward(const AttentionShape& s, T scale, const T* q, AttentionStrides qs, const T* k,
                       AttentionStrides ks, const T* v, AttentionStrides vs, T* out, AttentionStrides os, T* lse) {
  if (s.batch * s.heads * s.queries == 0) return;
  constexpr std::int64_t R = kQueryBlock;
  const std::int64_t D = s.head_dim, ldd = round_up(D, Tiles<T>::nr);
  const T minus_infinity = -std::numeric_limits<T>::infinity();
  for_each_head(s, [&] {
    return [&, qt = std::vector<T>(D * R), v_scratch = std::vector<T>(), scores = std::vector<T>(kKeyBlock * R),
            acc = std::vector<T>(R * ldd)](std::int64_t b, std::int64_t h) mutable {
      const T* qh = at(q, qs, b, h);
      const T* kh = at(k, ks, b, h);
      const RowOperand<T> vr = row_operand(at(v, vs, b, h), vs.time, s.keys, D, ldd, v_scratch);
      for (std::int64_t i0 = 0; i0 < s.queries; i0 += R) {
        const std::int64_t rows = std::min(R, s.queries - i0), end = key_end(s, i0 + rows);
        // Q^T of the block with the scale folded in: the products give the scaled scores.
        pack_transposed(qh + i0 * qs.time, qs.time, rows, D, R, scale, qt.data());
        T row_max[R], row_sum[R];
        for (std::int64_t r = 0; r < R; ++r) {
          row_max[r] = minus_infinity;
          row_sum[r] = T(0);
        }
        if (end == 0) std::fill(acc.begin(), acc.end(), T(0));  // no keys: nothing sets acc below
        for (std::int64_t j0 = 0; j0 < end; j0 += kKeyBlock) {
          const std::int64_t n = std::min(kKeyBlock, end - j0);
          T* st = scores.data();
          block_product<T, false>(n, R, D, kh + j0 * ks.time, ks.time, 1, qt.data(), R, st, R);
          // Mask, and each query's maximum over the block and what it saw before.
          T new_max[R];
          for (std::int64_t r = 0; r < R; ++r) new_max[r] = row_max[r];
          for (std::int64_t j = 0; j < n; ++j) {
            T* row = st + j * R;
            std::fill_n(row, first_visible_lane(s, i0, j0 + j), minus_infinity);
#pragma omp simd
            for (std::int64_t r = 0; r < R; ++r) new_max[r] = new_max[r] > row[r] ? new_max[r] : row[r];
          }
          // Online softmax: what a query gathered so far is rescaled to its new maximum. A query
          // that has seen no key yet keeps -inf and exponentiates against 0 (all its terms are 0).
          T reference[R], rescale[R], block_sum[R];
#pragma omp simd
          for (std::int64_t r = 0; r < R; ++r) {
            reference[r] = new_max[r] == minus_infinity ? T(0) : new_max[r];
            rescale[r] = vector_exp(row_max[r] - reference[r]);
            row_max[r] = new_max[r];
            block_sum[r] = T(0);
          }
          for (std::int64_t j = 0; j < n; ++j) {
            T* row = st + j * R;
#pragma omp simd
            for (std::int64_t r = 0; r < R; ++r) {
              const T e = vector_exp(row[r] - reference[r]);
              row[r] = e;
              block_sum[r] += e;
            }
          }
#pragma omp simd
          for (std::int64_t r = 0; r < R; ++r) row_sum[r] = row_sum[r] * rescale[r] + block_sum[r];
          if (j0 > 0)
            for (std::int64_t r = 0; r < rows; ++r) {
              if (rescale[r] == T(1)) continue;
              T* a = acc.data() + r * ldd;
              const T factor = rescale[r];
#pragma omp simd
              for (std::int64_t d = 0; d < D; ++d) a[d] *= factor;
            }
          // acc[query][d] += sum over the block's keys of P[query][key] V[key][d].
          // The first key block sets acc, the later ones add to it.
          if (j0 == 0)
            block_product<T, false>(rows, D, n, st, 1, R, vr.data, vr.ld, acc.data(), ldd);
          else
            block_product<T, true>(rows, D, n, st, 1, R, vr.data + j0 * vr.ld, vr.ld, acc.data(), ldd);
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
  constexpr std::int64_t R = kQueryBlock;
  const std::int64_t D = s.head_dim, ldd = round_up(D, Tiles<T>::nr);
  for_each_head(s, [&] {
    return [&, qt = std::vector<T>(D * R), gt = std::vector<T>(D * R), k_scratch = std::vector<T>(),
            q_scratch = std::vector<T>(), g_scratch = std::vector<T>(),
            probabilities = std::vector<T>(kKeyBlock * R), dscores = std::vector<T>(kKeyBlock * R),
            delta = std::vector<T>(s.queries)](std::int64_t b, std::int64_t h) mutable {
      const T* qh = at(q, qs, b, h);
      const T* kh = at(k, ks, b, h);
      const T* vh = at(v, vs, b, h);
      const T* gh = at(grad_out, gs, b, h);
      const T* oh = at(out, os, b, h);
      const T* lse_h = lse + (b * s.heads + h) * s.queries;
      // The products add into the gradient buffers directly, through their strides.
      T* dq = grad_q ? at(grad_q, dqs, b, h) : nullptr;
      T* dk = grad_k ? at(grad_k, dks, b, h) : nullptr;
      T* dv = grad_v ? at(grad_v, dvs, b, h) : nullptr;
      const RowOperand<T> kr = row_operand(kh, ks.time, s.keys, D, ldd, k_scratch);
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
      for (std::int64_t i0 = 0; i0 < s.queries; i0 += R) {
        const std::int64_t rows = std::min(R, s.queries - i0), end = key_end(s, i0 + rows);
        // With `assign`, each gradient row is set by its first product and added to by the
        // rest: dq's rows first meet key block 0; key rows [seen, end) are new to this query
        // block (key_end only grows with i0, so every key row is new exactly once).
        const std::int64_t seen = assign ? (i0 == 0 ? 0 : key_end(s, i0)) : s.keys;
        if (assign && end == 0 && dq)  // no keys at all: the gradient is zero
          for (std::int64_t r = 0; r < rows; ++r) std::fill_n(dq + (i0 + r) * dqs.time, D, T(0));
        pack_transposed(qh + i0 * qs.time, qs.time, rows, D, R, scale, qt.data());
        pack_transposed(gh + i0 * gs.time, gs.time, rows, D, R, T(1), gt.data());
        // Lanes past `rows` (a last, partial block) are computed on zeros and never read.
        T block_lse[R], block_delta[R];
        for (std::int64_t r = 0; r < R; ++r) {
          block_lse[r] = r < rows ? lse_h[i0 + r] : T(0);
          block_delta[r] = r < rows ? delta[i0 + r] : T(0);
        }
        for (std::int64_t j0 = 0; j0 < end; j0 += kKeyBlock) {
          const std::int64_t n = std::min(kKeyBlock, end - j0);
          T* p = probabilities.data();
          T* ds = dscores.data();
          block_product<T, false>(n, R, D, kh + j0 * ks.time, ks.time, 1, qt.data(), R, p, R);  // scores^T
          block_product<T, false>(n, R, D, vh + j0 * vs.time, vs.time, 1, gt.data(), R, ds, R);  // dP^T
          for (std::int64_t j = 0; j < n; ++j) {
            T* pj = p + j * R;
            T* dj = ds + j * R;
            const std::int64_t lo = first_visible_lane(s, i0, j0 + j);
            const T sc = scale;
#pragma omp simd
            for (std::int64_t r = 0; r < R; ++r) {
              const T prob = r < lo ? T(0) : vector_exp(pj[r] - block_lse[r]);
              pj[r] = prob;
              dj[r] = prob * (dj[r] - block_delta[r]) * sc;  // gradient of the unscaled score
            }
          }
          // dV_j += P^T dO, dK_j += dS^T Q (key rows below `seen` add, the others are set),
          // dQ += dS K_j (set by key block 0 under `assign`).
          const std::int64_t old_keys = std::clamp<std::int64_t>(seen - j0, 0, n);
          if (dv) {
            block_product<T, true>(old_keys, D, rows, p, R, 1, gr.data + i0 * gr.ld, gr.ld, dv + j0 * dvs.time,
                                   dvs.time);
            block_product<T, false>(n - old_keys, D, rows, p + old_keys * R, R, 1, gr.data + i0 * gr.ld, gr.ld,
                                    dv + (j0 + old_keys) * dvs.time, dvs.time);
          }
          if (dk) {
            block_product<T, true>(old_keys, D, rows, ds, R, 1, qr.data + i0 * qr.ld, qr.ld, dk + j0 * dks.time,
                                   dks.time);
            block_product<T, false>(n - old_keys, D, rows, ds + old_keys * R, R, 1, qr.data + i0 * qr.ld, qr.ld,
                                    dk + (j0 + old_keys) * dks.time, dks.time);
          }
          if (dq) {
            if (assign && j0 == 0)
              block_product<T, false>(rows, D, n, ds, 1, R, kr.data, kr.ld, dq + i0 * dqs.time, dqs.time);
            else
              block_product<T, true>(rows, D, n, ds, 1, R, kr.data + j0 * kr.ld, kr.ld, dq + i0 * dqs.time,
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
