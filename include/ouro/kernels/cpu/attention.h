// Fused scaled dot-product attention, forward and backward, over batch x heads independent
// problems: scores, causal mask, softmax and the weighted sum of values in one pass over
// blocks of queries and keys (the online softmax of FlashAttention, Dao et al. 2022), so no
// Tq x Tk matrix exists, only one block of it per thread. The forward saves each query's
// log-sum-exp; the backward recomputes the probabilities from it (FlashAttention-2's order).
#pragma once
#include <cstdint>

namespace ouro::kernels {

struct AttentionShape {
  std::int64_t batch, heads, queries, keys, head_dim;
  bool causal;  // query i sees keys j <= i + (keys - queries)
};

// Where one operand's rows are: element (b, h, t, d) is at base[b*batch + h*head + t*time + d]
// (the head dimension is contiguous).
struct AttentionStrides {
  std::int64_t batch, head, time;
};

// out = softmax(q k^T * scale + mask) v; lse[(b*H + h)*Tq + i] = log sum_j exp(score_ij)
// (the scaled, masked scores). Each (b, h) is computed by one thread in a fixed order, so the
// results do not depend on the thread count.
template <typename T>
void attention_forward(const AttentionShape& shape, T scale, const T* q, AttentionStrides q_strides, const T* k,
                       AttentionStrides k_strides, const T* v, AttentionStrides v_strides, T* out,
                       AttentionStrides out_strides, T* lse);

// Adds the gradients of q, k and v (any may be null; each through its own strides, the head
// dimension contiguous, and no two problems' rows overlapping) given the forward's out and lse
// and the output's gradient grad_out; with `assign`, sets them instead (what the buffers held
// is not read).
template <typename T>
void attention_backward(const AttentionShape& shape, T scale, const T* q, AttentionStrides q_strides, const T* k,
                        AttentionStrides k_strides, const T* v, AttentionStrides v_strides, const T* out,
                        AttentionStrides out_strides, const T* grad_out, AttentionStrides grad_out_strides,
                        const T* lse, T* grad_q, AttentionStrides grad_q_strides, T* grad_k,
                        AttentionStrides grad_k_strides, T* grad_v, AttentionStrides grad_v_strides,
                        bool assign = false);

}  // namespace ouro::kernels
