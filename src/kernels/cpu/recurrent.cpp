#include "ouro/kernels/cpu/recurrent.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <cmath>
#include <memory>
#include <type_traits>
#include <vector>

#include "ouro/kernels/cpu/activation.h"
#include "ouro/kernels/cpu/gemm.h"
#include "ouro/kernels/cpu/parallel.h"
#include "ouro/kernels/cpu/register_tile.h"
#include "ouro/kernels/cpu/sanitizer_footprint.h"
#include "ouro/kernels/cpu/vector_math.h"

namespace ouro::kernels {

std::int64_t rnn_gates(RnnCell cell) {
  switch (cell) {
    case RnnCell::Lstm: return 4;
    case RnnCell::Gru: return 3;
    default: return 1;
  }
}

std::int64_t rnn_saved_size(const RnnSizes& s) {
  const std::int64_t rows = s.steps * s.batch;
  return rows * rnn_gates(s.cell) * s.hidden + (s.cell == RnnCell::Gru ? rows * s.hidden : 0);
}

namespace {

// Float gates go through exp_float so that the gate loops vectorise (libm's expf and tanhf are
// opaque scalar calls); 1 - 2 / (e^2x + 1) saturates to +-1 without NaN at either end. Double
// keeps libm and the same sigmoid as ouro::sigmoid, so it matches the composed reference to
// the last bits of the GEMM sums.
template <typename T>
inline T gate_sigmoid(T x) {
  if constexpr (std::is_same_v<T, float>) return 1.0f / (1.0f + exp_float(-x));
  else return sigmoid_value(x);
}

template <typename T>
inline T gate_tanh(T x) {
  if constexpr (std::is_same_v<T, float>) return 1.0f - 2.0f / (exp_float(2.0f * x) + 1.0f);
  else return std::tanh(x);
}

// chunk: the unit granularity by which the threads split the hidden units, and the width of a
// backward panel (32 floats / 16 doubles: two 512-bit registers per tile row). mr: batch rows
// per tile. An mr x chunk tile of accumulators is 16 vector registers.
template <typename T>
struct Blocking;
template <>
struct Blocking<float> {
  static constexpr std::int64_t chunk = 32, mr = 8;
};
template <>
struct Blocking<double> {
  static constexpr std::int64_t chunk = 16, mr = 8;
};

template <RnnCell C>
constexpr std::int64_t kGates = C == RnnCell::Lstm ? 4 : C == RnnCell::Gru ? 3 : 1;

// Hidden units per forward panel. A forward panel interleaves the gates of these units (columns
// g * units + u), so one tile holds every gate of its units and the cell update runs on it
// straight after the product.
template <typename T, RnnCell C>
constexpr std::int64_t kUnitBlock = kGates<C> == 1 ? Blocking<T>::chunk : Blocking<T>::chunk / 4;

// Below this many multiply-adds per step the steps run on one thread: handing a step over
// between threads costs more than the second thread saves.
constexpr std::int64_t kParallelStepWork = std::int64_t{1} << 19;

int step_threads(std::int64_t batch, std::int64_t gate_rows, std::int64_t hidden, std::int64_t chunk) {
  if (batch * gate_rows * hidden < kParallelStepWork) return 1;
  const std::int64_t chunks = (hidden + chunk - 1) / chunk;
  return static_cast<int>(std::min<std::int64_t>(num_threads(), chunks));
}

void wait_until(const std::atomic<std::int64_t>& counter, std::int64_t target) {
  for (int spins = 0; counter.load(std::memory_order_acquire) < target; ++spins) {
    if (spins >= 2000) {
      std::this_thread::yield();  // the thread we wait for may need this core
    } else {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }
}

// Runs body(phase, item) for `items` items in each of `phases` phases, handing items out in
// order from one counter; an item of phase p starts only once every item of phase p - 1 has
// finished (the per-step dependence of a recurrence). What an item computes does not depend
// on which thread runs it, so results do not depend on the thread count or the scheduling.
// Unlike a static split with a barrier per step, a thread the OS has descheduled holds the
// others up only while it is inside an item: on a loaded machine the other thread carries on
// with the rest of the step, and the next.
template <typename Body>
void run_phases(int threads, std::int64_t phases, std::int64_t items, Body&& body) {
  if (threads <= 1) {
    for (std::int64_t phase = 0; phase < phases; ++phase)
      for (std::int64_t item = 0; item < items; ++item) body(phase, item);
    return;
  }
  std::atomic<std::int64_t> next{0};
  std::vector<std::atomic<std::int64_t>> done(static_cast<std::size_t>(phases));
  for (auto& count : done) count.store(0, std::memory_order_relaxed);
#pragma omp parallel num_threads(threads)
  for (;;) {
    const std::int64_t ticket = next.fetch_add(1, std::memory_order_relaxed);
    const std::int64_t phase = ticket / items;
    if (phase >= phases) break;
    if (phase > 0) wait_until(done[static_cast<std::size_t>(phase - 1)], items);
    body(phase, ticket % items);
    done[static_cast<std::size_t>(phase)].fetch_add(1, std::memory_order_release);
  }
}

// out[MR][NR] = A[MR rows, k] @ panel[k][NR], A read in place (row stride lda), the sum over k
// taken in order. Under ASan its footprint is checked once per call (sanitizer_footprint.h).
template <typename T, std::int64_t MR, std::int64_t NR>
OURO_FOOTPRINT_CHECKED_INLINE void tile_product(std::int64_t k, const T* __restrict a, std::int64_t lda,
                                                const T* __restrict panel, T* __restrict out) {
  for (std::int64_t i = 0; i < MR; ++i) check_footprint(a + i * lda, static_cast<std::size_t>(k) * sizeof(T));
  check_footprint(panel, static_cast<std::size_t>(k * NR) * sizeof(T));
  check_footprint(out, static_cast<std::size_t>(MR * NR) * sizeof(T));
  T acc[MR][NR];
  for (std::int64_t i = 0; i < MR; ++i)
#pragma omp simd
    for (std::int64_t j = 0; j < NR; ++j) acc[i][j] = T(0);
  for (std::int64_t p = 0; p < k; ++p) {
    const T* b = panel + p * NR;
#pragma GCC unroll 16
    for (std::int64_t i = 0; i < MR; ++i) {
      const T ai = a[i * lda + p];
#pragma omp simd
      for (std::int64_t j = 0; j < NR; ++j) acc[i][j] = multiply_add(ai, b[j], acc[i][j]);
    }
  }
  for (std::int64_t i = 0; i < MR; ++i)
#pragma omp simd
    for (std::int64_t j = 0; j < NR; ++j) out[i * NR + j] = acc[i][j];
}

// sum_p a[p] * b[p] over sixteen interleaved partial sums (GCC keeps a plain reduction
// scalar here), added pairwise-free in lane order: a fixed order for a given n.
template <typename T>
T dot(const T* a, const T* b, std::int64_t n) {
  T lanes[16] = {};
  std::int64_t p = 0;
  for (; p + 16 <= n; p += 16)
#pragma omp simd
    for (std::int64_t l = 0; l < 16; ++l) lanes[l] = multiply_add(a[p + l], b[p + l], lanes[l]);
  T sum = T(0);
  for (std::int64_t l = 0; l < 16; ++l) sum += lanes[l];
  for (; p < n; ++p) sum = multiply_add(a[p], b[p], sum);
  return sum;
}

// The same tile for the first `rows` rows of A straight from w_hh (unit u of gate g is row
// g * H + u0 + u), with no packed panel: for a call of one or two steps at batch 1 (generation)
// packing w_hh would cost as much as the product itself.
template <typename T, std::int64_t NR, std::int64_t UB>
void tile_direct(std::int64_t hidden, std::int64_t gates, const T* a, std::int64_t lda, std::int64_t rows,
                 const T* w_hh, std::int64_t u0, std::int64_t units, T* out) {
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t g = 0; g < gates; ++g)
      for (std::int64_t u = 0; u < UB; ++u)
        out[i * NR + g * UB + u] = u < units ? dot(a + i * lda, w_hh + (g * hidden + u0 + u) * hidden, hidden) : T(0);
}

// Below this many rows (steps x batch) in a call the forward reads w_hh in place.
constexpr std::int64_t kPackMinRows = 4;

// Scratch that the kernel overwrites before reading: no zero-fill.
template <typename T>
std::unique_ptr<T[]> scratch(std::int64_t count) {
  return std::make_unique_for_overwrite<T[]>(static_cast<std::size_t>(std::max<std::int64_t>(count, 1)));
}

// Rows [first, first + rows) of a (row stride lda, width k) copied into a zero-padded MR x k
// block, so that the last partial tile of the batch runs the same full-tile product.
template <typename T>
const T* pad_rows(const T* a, std::int64_t lda, std::int64_t first, std::int64_t rows, std::int64_t mr,
                  std::int64_t k, std::vector<T>& buffer) {
  buffer.assign(static_cast<std::size_t>(mr * k), T(0));
  for (std::int64_t i = 0; i < rows; ++i) std::copy_n(a + (first + i) * lda, k, buffer.data() + i * k);
  return buffer.data();
}

// What one step of the forward needs, shared by every tile of the step.
template <typename T>
struct ForwardStep {
  std::int64_t t, batch, hidden, gate_rows, state;
  const T* h_prev;       // [B, H], row stride prev_ld
  const T* c_prev;       // LSTM: [B, H], row stride prev_ld
  std::int64_t prev_ld;
  const T* b_ih;         // [G*H], zeros when the layer has no bias
  const T* b_hh;
  const std::int64_t* lengths;
  T* act;                // [B, G*H] of step t: the input projection in, the activations out
  T* hn;                 // GRU: [B, H] of step t
  T* state_out;          // [B, S] of step t
};

// The cell update for `rows` batch rows from b0 and `units` hidden units from u0, given the
// tile of hidden products (columns g * UB + u).
template <typename T, RnnCell C, std::int64_t UB, bool Full>
void forward_cells(const ForwardStep<T>& s, const T* tile, std::int64_t b0, std::int64_t rows, std::int64_t u0,
                   std::int64_t partial_units) {
  // A full block's loops have a compile-time length: no masked tail on every row.
  const std::int64_t units = Full ? UB : partial_units;
  constexpr std::int64_t NR = kGates<C> * UB;
  const std::int64_t H = s.hidden;
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::int64_t b = b0 + i;
    const T* hp = s.h_prev + b * s.prev_ld + u0;
    T* h_out = s.state_out + b * s.state + u0;
    if (s.lengths != nullptr && s.t >= s.lengths[b]) {  // ended (or, in reverse, not begun): carry
      std::copy_n(hp, units, h_out);
      if constexpr (C == RnnCell::Lstm) std::copy_n(s.c_prev + b * s.prev_ld + u0, units, h_out + H);
      continue;
    }
    const T* acc = tile + i * NR;
    const T* bi = s.b_ih + u0;
    const T* bh = s.b_hh + u0;
    T* a = s.act + b * s.gate_rows + u0;
    if constexpr (C == RnnCell::Tanh) {
#pragma omp simd
      for (std::int64_t u = 0; u < units; ++u) h_out[u] = gate_tanh((a[u] + bi[u]) + (acc[u] + bh[u]));
    } else if constexpr (C == RnnCell::Relu) {
#pragma omp simd
      for (std::int64_t u = 0; u < units; ++u) {
        const T v = (a[u] + bi[u]) + (acc[u] + bh[u]);
        h_out[u] = v > T(0) ? v : T(0);
      }
    } else if constexpr (C == RnnCell::Lstm) {
      const T* cp = s.c_prev + b * s.prev_ld + u0;
      T* c_out = h_out + H;
#pragma omp simd
      for (std::int64_t u = 0; u < units; ++u) {
        const T ig = gate_sigmoid((a[u] + bi[u]) + (acc[u] + bh[u]));
        const T fg = gate_sigmoid((a[H + u] + bi[H + u]) + (acc[UB + u] + bh[H + u]));
        const T gg = gate_tanh((a[2 * H + u] + bi[2 * H + u]) + (acc[2 * UB + u] + bh[2 * H + u]));
        const T og = gate_sigmoid((a[3 * H + u] + bi[3 * H + u]) + (acc[3 * UB + u] + bh[3 * H + u]));
        const T c = fg * cp[u] + ig * gg;
        c_out[u] = c;
        h_out[u] = og * gate_tanh(c);
        a[u] = ig;
        a[H + u] = fg;
        a[2 * H + u] = gg;
        a[3 * H + u] = og;
      }
    } else {  // GRU: b_hn stays inside r * (W_hn h + b_hn)
      T* hn = s.hn + b * H + u0;
#pragma omp simd
      for (std::int64_t u = 0; u < units; ++u) {
        const T r = gate_sigmoid((a[u] + bi[u]) + (acc[u] + bh[u]));
        const T z = gate_sigmoid((a[H + u] + bi[H + u]) + (acc[UB + u] + bh[H + u]));
        const T hidden_n = acc[2 * UB + u] + bh[2 * H + u];
        const T n = gate_tanh((a[2 * H + u] + bi[2 * H + u]) + r * hidden_n);
        h_out[u] = (T(1) - z) * n + z * hp[u];
        a[u] = r;
        a[H + u] = z;
        a[2 * H + u] = n;
        hn[u] = hidden_n;
      }
    }
  }
}

template <typename T, RnnCell C>
void forward_impl(const RnnSizes& sz, const T* x, const T* h0, const T* c0, const RnnWeights<T>& w,
                  const std::int64_t* lengths, T* states, T* saved) {
  constexpr std::int64_t G = kGates<C>, UB = kUnitBlock<T, C>, NR = G * UB, MR = Blocking<T>::mr;
  const std::int64_t steps = sz.steps, B = sz.batch, I = sz.input, H = sz.hidden, GH = G * H;
  const std::int64_t S = C == RnnCell::Lstm ? 2 * H : H;
  if (steps == 0 || B == 0) return;

  // The input projection of every step in one product, written where the activations go.
  // b_ih is added in the cell update instead: acc + b there rounds exactly as a bias-initialised
  // product would, and saves a pass over [T, B, G*H].
  T* act = saved;
  T* hn_all = C == RnnCell::Gru ? saved + steps * B * GH : nullptr;
  const std::int64_t rows = steps * B;
  if (rows < kPackMinRows) {  // generation: a GEMM would pack all of w_ih for one row
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < GH; ++j) act[r * GH + j] = dot(x + r * I, w.w_ih + j * I, I);
  } else {
    gemm(false, true, rows, GH, I, T(1), x, I, w.w_ih, I, T(0), act, GH);
  }

  std::vector<T> zero_bias;
  const T* b_ih = w.b_ih;
  const T* b_hh = w.b_hh;
  if (b_hh == nullptr) {
    zero_bias.assign(static_cast<std::size_t>(GH), T(0));
    b_ih = b_hh = zero_bias.data();
  }

  // w_hh packed once for the whole sequence: panel j holds units [j*UB, (j+1)*UB) as [H][NR],
  // column g * UB + u = row g * H + j * UB + u of w_hh; units past H are zero.
  const std::int64_t blocks = (H + UB - 1) / UB;
  const bool pack = rows >= kPackMinRows;
  const auto packed = scratch<T>(pack ? blocks * H * NR : 0);
  const int threads = step_threads(B, GH, H, Blocking<T>::chunk);

  auto step_inputs = [&](std::int64_t k) {
    const std::int64_t t = sz.reverse ? steps - 1 - k : k;
    ForwardStep<T> s{};
    s.t = t;
    s.batch = B;
    s.hidden = H;
    s.gate_rows = GH;
    s.state = S;
    if (k == 0) {
      s.h_prev = h0;
      s.c_prev = c0;
      s.prev_ld = H;
    } else {
      const T* prev = states + (sz.reverse ? t + 1 : t - 1) * B * S;
      s.h_prev = prev;
      s.c_prev = prev + H;
      s.prev_ld = S;
    }
    s.b_ih = b_ih;
    s.b_hh = b_hh;
    s.lengths = lengths;
    s.act = act + t * B * GH;
    s.hn = hn_all != nullptr ? hn_all + t * B * H : nullptr;
    s.state_out = states + t * B * S;
    return s;
  };
  const std::int64_t full_rows = B / MR * MR;
  // Phase 0 packs the panels, phase k + 1 runs step k; an item is one block of UB units.
  run_phases(threads, steps + 1, blocks, [&](std::int64_t phase, std::int64_t block) {
    const std::int64_t u0 = block * UB, units = std::min(UB, H - u0);
    T* panel = pack ? packed.get() + block * H * NR : nullptr;
    if (phase == 0) {
      if (!pack) return;
      for (std::int64_t g = 0; g < G; ++g)
        for (std::int64_t u = 0; u < UB; ++u) {
          if (u < units) {
            const T* src = w.w_hh + (g * H + u0 + u) * H;
            for (std::int64_t p = 0; p < H; ++p) panel[p * NR + g * UB + u] = src[p];
          } else {
            for (std::int64_t p = 0; p < H; ++p) panel[p * NR + g * UB + u] = T(0);
          }
        }
      return;
    }
    const ForwardStep<T> s = step_inputs(phase - 1);
    thread_local std::vector<T> tail;
    alignas(64) T tile[MR * NR];
    for (std::int64_t b0 = 0; b0 < B; b0 += MR) {
      const std::int64_t tile_rows = std::min(MR, B - b0);
      if (!pack)
        tile_direct<T, NR, UB>(H, G, s.h_prev + b0 * s.prev_ld, s.prev_ld, tile_rows, w.w_hh, u0, units, tile);
      else if (b0 < full_rows)
        tile_product<T, MR, NR>(H, s.h_prev + b0 * s.prev_ld, s.prev_ld, panel, tile);
      else
        tile_product<T, MR, NR>(H, pad_rows(s.h_prev, s.prev_ld, b0, tile_rows, MR, H, tail), H, panel, tile);
      if (units == UB)
        forward_cells<T, C, UB, true>(s, tile, b0, tile_rows, u0, units);
      else
        forward_cells<T, C, UB, false>(s, tile, b0, tile_rows, u0, units);
    }
  });
}

// The gate gradients of step t for batch row b and units [u0, u1): writes dgx (gradient of the
// input-side pre-activations, [G*H] row) and dgh (of the hidden-side ones, differs for the
// GRU's n gate), the direct part of dh_prev and, for the LSTM, dc_prev.
template <typename T>
struct BackwardStep {
  std::int64_t t, hidden, gate_rows, state;
  const T* grad;       // grad_states row block of step t: [B, S]
  const T* act;        // saved activations of step t: [B, G*H]
  const T* hn;         // GRU: [B, H]
  const T* state_now;  // states of step t: [B, S]
  const T* h_prev;     // [B, H], row stride prev_ld
  const T* c_prev;
  std::int64_t prev_ld;
  const std::int64_t* lengths;
  T* dgx;              // [B, G*H] of step t
  T* dgh;              // same as dgx except for the GRU
  T* dh_carry;         // [B, H]: in, the gradient reaching h after step t from later steps
  T* dc_carry;         // LSTM [B, H]: in as dh_carry; out, the gradient of c before step t
  T* dh_direct;        // [B, H] out: dh_prev apart from the w_hh product
};

template <typename T, RnnCell C>
void backward_cells(const BackwardStep<T>& s, std::int64_t b, std::int64_t u0, std::int64_t u1) {
  const std::int64_t H = s.hidden;
  const T* g = s.grad + b * s.state;
  T* carry = s.dh_carry + b * H;
  T* direct = s.dh_direct + b * H;
  T* dgx = s.dgx + b * s.gate_rows;
  T* dgh = s.dgh + b * s.gate_rows;
  if (s.lengths != nullptr && s.t >= s.lengths[b]) {  // the state passed through unchanged
    for (std::int64_t q = 0; q < kGates<C>; ++q) {
      std::fill(dgx + q * H + u0, dgx + q * H + u1, T(0));
      if (C == RnnCell::Gru) std::fill(dgh + q * H + u0, dgh + q * H + u1, T(0));
    }
    for (std::int64_t u = u0; u < u1; ++u) direct[u] = g[u] + carry[u];
    if constexpr (C == RnnCell::Lstm) {
      T* dc = s.dc_carry + b * H;
      for (std::int64_t u = u0; u < u1; ++u) dc[u] = g[H + u] + dc[u];
    }
    return;
  }
  const T* a = s.act + b * s.gate_rows;
  if constexpr (C == RnnCell::Tanh || C == RnnCell::Relu) {
    const T* h = s.state_now + b * s.state;
#pragma omp simd
    for (std::int64_t u = u0; u < u1; ++u) {
      const T dh = g[u] + carry[u];
      dgx[u] = C == RnnCell::Tanh ? dh * (T(1) - h[u] * h[u]) : (h[u] > T(0) ? dh : T(0));
      direct[u] = T(0);
    }
  } else if constexpr (C == RnnCell::Lstm) {
    const T* c = s.state_now + b * s.state + H;
    const T* cp = s.c_prev + b * s.prev_ld;
    T* dc_carry = s.dc_carry + b * H;
#pragma omp simd
    for (std::int64_t u = u0; u < u1; ++u) {
      const T dh = g[u] + carry[u];
      const T ig = a[u], fg = a[H + u], gg = a[2 * H + u], og = a[3 * H + u];
      const T tc = gate_tanh(c[u]);
      const T dc = (g[H + u] + dc_carry[u]) + dh * og * (T(1) - tc * tc);
      dgx[u] = dc * gg * (ig * (T(1) - ig));
      dgx[H + u] = dc * cp[u] * (fg * (T(1) - fg));
      dgx[2 * H + u] = dc * ig * (T(1) - gg * gg);
      dgx[3 * H + u] = dh * tc * (og * (T(1) - og));
      dc_carry[u] = dc * fg;
      direct[u] = T(0);
    }
  } else {
    const T* hp = s.h_prev + b * s.prev_ld;
    const T* hn = s.hn + b * H;
#pragma omp simd
    for (std::int64_t u = u0; u < u1; ++u) {
      const T dh = g[u] + carry[u];
      const T r = a[u], z = a[H + u], n = a[2 * H + u];
      const T dn = dh * (T(1) - z) * (T(1) - n * n);
      const T dr = dn * hn[u] * (r * (T(1) - r));
      const T dz = dh * (hp[u] - n) * (z * (T(1) - z));
      dgx[u] = dr;
      dgx[H + u] = dz;
      dgx[2 * H + u] = dn;
      dgh[u] = dr;
      dgh[H + u] = dz;
      dgh[2 * H + u] = dn * r;
      direct[u] = dh * z;
    }
  }
}

// dst[c] (and dst2[c], when given) += the sum over rows of src[r, c], rows in order. The
// threads split the columns, so each sum has one order whatever the thread count.
template <typename T>
void add_column_sums(const T* src, std::int64_t rows, std::int64_t cols, T* dst, T* dst2) {
  constexpr std::int64_t kBlock = 128;
  const std::int64_t blocks = (cols + kBlock - 1) / kBlock;
  const int threads = threads_for(rows * cols);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && blocks > 1)
  for (std::int64_t block = 0; block < blocks; ++block) {
    const std::int64_t first = block * kBlock, width = std::min(kBlock, cols - first);
    T sum[kBlock] = {};
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* row = src + r * cols + first;
#pragma omp simd
      for (std::int64_t c = 0; c < width; ++c) sum[c] += row[c];
    }
    for (std::int64_t c = 0; c < width; ++c) dst[first + c] += sum[c];
    if (dst2 != nullptr)
      for (std::int64_t c = 0; c < width; ++c) dst2[first + c] += sum[c];
  }
}

template <typename T, RnnCell C>
void backward_impl(const RnnSizes& sz, const T* grad_states, const T* x, const T* h0, const T* c0,
                   const RnnWeights<T>& w, const std::int64_t* lengths, const T* states, const T* saved,
                   const RnnGradients<T>& grads) {
  constexpr std::int64_t G = kGates<C>, CH = Blocking<T>::chunk, MR = Blocking<T>::mr;
  const std::int64_t steps = sz.steps, B = sz.batch, I = sz.input, H = sz.hidden, GH = G * H;
  const std::int64_t S = C == RnnCell::Lstm ? 2 * H : H;
  if (steps == 0 || B == 0) return;
  const std::int64_t rows = steps * B;
  const auto dgx_buffer = scratch<T>(rows * GH);
  const auto dgh_separate = scratch<T>(C == RnnCell::Gru ? rows * GH : 0);
  T* dgx = dgx_buffer.get();
  T* dgh = C == RnnCell::Gru ? dgh_separate.get() : dgx;
  const auto dh_direct = scratch<T>(B * H);
  std::vector<T> dh_carry(static_cast<std::size_t>(B * H), T(0));
  std::vector<T> dc_carry(C == RnnCell::Lstm ? static_cast<std::size_t>(B * H) : 0, T(0));

  // w_hh packed for dh_prev = dgh @ w_hh: panel j holds units [j*CH, (j+1)*CH) as [G*H][CH].
  const std::int64_t chunks = (H + CH - 1) / CH;
  const auto packed = scratch<T>(chunks * GH * CH);
  const int threads = step_threads(B, GH, H, CH);
  const std::int64_t full_rows = B / MR * MR;

  auto step_inputs = [&](std::int64_t k) {
    const std::int64_t t = sz.reverse ? steps - 1 - k : k;
    BackwardStep<T> s{};
    s.t = t;
    s.hidden = H;
    s.gate_rows = GH;
    s.state = S;
    s.grad = grad_states + t * B * S;
    s.act = saved + t * B * GH;
    s.hn = C == RnnCell::Gru ? saved + rows * GH + t * B * H : nullptr;
    s.state_now = states + t * B * S;
    if (k == 0) {
      s.h_prev = h0;
      s.c_prev = c0;
      s.prev_ld = H;
    } else {
      const T* prev = states + (sz.reverse ? t + 1 : t - 1) * B * S;
      s.h_prev = prev;
      s.c_prev = prev + H;
      s.prev_ld = S;
    }
    s.lengths = lengths;
    s.dgx = dgx + t * B * GH;
    s.dgh = dgh + t * B * GH;
    s.dh_carry = dh_carry.data();
    s.dc_carry = dc_carry.data();
    s.dh_direct = dh_direct.get();
    return s;
  };
  // Backward step q (q = 0 is the last step processed) has two parts per chunk of CH units:
  // the gate gradients of the chunk (cells), and the chunk's dh_prev = dh_direct + dgh @ w_hh,
  // which needs the gate gradients of every unit. The cells of step q + 1 need only this
  // chunk's dh_prev, so the two run as one item and there is one hand-over per step: phase 0
  // packs the panels, phase 1 runs the cells of step 0, and phase q + 2 the product of step q
  // followed by the cells of step q + 1.
  run_phases(threads, steps + 2, chunks, [&](std::int64_t phase, std::int64_t chunk) {
    const std::int64_t u0 = chunk * CH, units = std::min(CH, H - u0);
    T* panel = packed.get() + chunk * GH * CH;
    if (phase == 0) {
      for (std::int64_t p = 0; p < GH; ++p) {
        const T* src = w.w_hh + p * H + u0;
        for (std::int64_t u = 0; u < CH; ++u) panel[p * CH + u] = u < units ? src[u] : T(0);
      }
      return;
    }
    auto cells = [&](std::int64_t q) {
      const BackwardStep<T> s = step_inputs(steps - 1 - q);
      for (std::int64_t b = 0; b < B; ++b) backward_cells<T, C>(s, b, u0, u0 + units);
    };
    if (phase == 1) return cells(0);
    const std::int64_t q = phase - 2;
    const BackwardStep<T> s = step_inputs(steps - 1 - q);
    thread_local std::vector<T> tail;
    alignas(64) T tile[MR * CH];
    for (std::int64_t b0 = 0; b0 < B; b0 += MR) {
      const std::int64_t tile_rows = std::min(MR, B - b0);
      if (b0 < full_rows)
        tile_product<T, MR, CH>(GH, s.dgh + b0 * GH, GH, panel, tile);
      else
        tile_product<T, MR, CH>(GH, pad_rows(s.dgh, GH, b0, tile_rows, MR, GH, tail), GH, panel, tile);
      for (std::int64_t i = 0; i < tile_rows; ++i) {
        const std::int64_t row = (b0 + i) * H + u0;
        for (std::int64_t u = 0; u < units; ++u) s.dh_carry[row + u] = s.dh_direct[row + u] + tile[i * CH + u];
      }
    }
    if (q + 1 < steps) cells(q + 1);
  });

  if (grads.h0 != nullptr)
    for (std::int64_t i = 0; i < B * H; ++i) grads.h0[i] += dh_carry[i];
  if (C == RnnCell::Lstm && grads.c0 != nullptr)
    for (std::int64_t i = 0; i < B * H; ++i) grads.c0[i] += dc_carry[i];
  if (grads.w_hh != nullptr) {
    // Step t's h_prev is states[t -+ 1] (a strided view of h, row stride S) except for the
    // first step processed, whose h_prev is h0.
    const std::int64_t first_t = sz.reverse ? steps - 1 : 0;
    if (steps > 1) {
      const T* dg_rows = dgh + (sz.reverse ? 0 : B * GH);
      const T* h_rows = states + (sz.reverse ? B * S : 0);
      gemm(true, false, GH, H, (steps - 1) * B, T(1), dg_rows, GH, h_rows, S, T(1), grads.w_hh, H);
    }
    gemm(true, false, GH, H, B, T(1), dgh + first_t * B * GH, GH, h0, H, T(1), grads.w_hh, H);
  }
  // Both biases receive the column sums of the gate gradients; they are one array except for
  // the GRU.
  if (C != RnnCell::Gru && grads.b_ih != nullptr) {
    add_column_sums(dgx, rows, GH, grads.b_ih, grads.b_hh);
  } else {
    if (grads.b_hh != nullptr) add_column_sums(dgh, rows, GH, grads.b_hh, static_cast<T*>(nullptr));
    if (grads.b_ih != nullptr) add_column_sums(dgx, rows, GH, grads.b_ih, static_cast<T*>(nullptr));
  }
  if (I > 0) {
    if (grads.w_ih != nullptr) gemm(true, false, GH, I, rows, T(1), dgx, GH, x, I, T(1), grads.w_ih, I);
    if (grads.x != nullptr) gemm(false, false, rows, I, GH, T(1), dgx, GH, w.w_ih, I, T(1), grads.x, I);
  }
}

template <typename T, typename Body>
void dispatch_cell(RnnCell cell, Body&& body) {
  switch (cell) {
    case RnnCell::Tanh: return body(std::integral_constant<RnnCell, RnnCell::Tanh>{});
    case RnnCell::Relu: return body(std::integral_constant<RnnCell, RnnCell::Relu>{});
    case RnnCell::Lstm: return body(std::integral_constant<RnnCell, RnnCell::Lstm>{});
    case RnnCell::Gru: return body(std::integral_constant<RnnCell, RnnCell::Gru>{});
  }
}

}  // namespace

template <typename T>
void rnn_forward(const RnnSizes& sizes, const T* x, const T* h0, const T* c0, const RnnWeights<T>& weights,
                 const std::int64_t* lengths, T* states, T* saved) {
  dispatch_cell<T>(sizes.cell, [&](auto cell) {
    forward_impl<T, decltype(cell)::value>(sizes, x, h0, c0, weights, lengths, states, saved);
  });
}

template <typename T>
void rnn_backward(const RnnSizes& sizes, const T* grad_states, const T* x, const T* h0, const T* c0,
                  const RnnWeights<T>& weights, const std::int64_t* lengths, const T* states, const T* saved,
                  const RnnGradients<T>& grads) {
  dispatch_cell<T>(sizes.cell, [&](auto cell) {
    backward_impl<T, decltype(cell)::value>(sizes, grad_states, x, h0, c0, weights, lengths, states, saved, grads);
  });
}

template void rnn_forward<float>(const RnnSizes&, const float*, const float*, const float*, const RnnWeights<float>&,
                                 const std::int64_t*, float*, float*);
template void rnn_forward<double>(const RnnSizes&, const double*, const double*, const double*,
                                  const RnnWeights<double>&, const std::int64_t*, double*, double*);
template void rnn_backward<float>(const RnnSizes&, const float*, const float*, const float*, const float*,
                                  const RnnWeights<float>&, const std::int64_t*, const float*, const float*,
                                  const RnnGradients<float>&);
template void rnn_backward<double>(const RnnSizes&, const double*, const double*, const double*, const double*,
                                   const RnnWeights<double>&, const std::int64_t*, const double*, const double*,
                                   const RnnGradients<double>&);

}  // namespace ouro::kernels
