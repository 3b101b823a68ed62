#include "model/propagate_avx2.hpp"

// This file is compiled with -ffp-contract=off: every expression must round as the portable
// kernels' do (no fused multiply-add anywhere).

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TKG_AVX2_KERNELS 1
#include <immintrin.h>
#endif

#include <cmath>

namespace tkg::avx2 {

#ifdef TKG_AVX2_KERNELS

namespace {

#define TKG_AVX2 __attribute__((target("avx2")))

constexpr int64_t kAhead = 16;  // edges to prefetch ahead

// a·x as the portable kernel computes it (a four-lane accumulator, acc += a[4j..]·x[4j..] for
// j = 0, 1, ..., then 0 + lane 0 + lane 1 + lane 2 + lane 3), for two rows x1, x2 at once: two
// independent dependency chains, each rounding exactly as one portable dot product.
template <int NB>
TKG_AVX2 inline void dot2(const float* a, const float* x1, const float* x2, float* s1, float* s2) {
  __m128 c1 = _mm_setzero_ps(), c2 = _mm_setzero_ps();
  for (int j = 0; j < 2 * NB; ++j) {
    const __m128 av = _mm_loadu_ps(a + 4 * j);
    c1 = _mm_add_ps(c1, _mm_mul_ps(av, _mm_loadu_ps(x1 + 4 * j)));
    c2 = _mm_add_ps(c2, _mm_mul_ps(av, _mm_loadu_ps(x2 + 4 * j)));
  }
  alignas(16) float l1[4], l2[4];
  _mm_store_ps(l1, c1);
  _mm_store_ps(l2, c2);
  float r1 = 0.0f, r2 = 0.0f;
  for (int t = 0; t < 4; ++t) r1 += l1[t], r2 += l2[t];
  *s1 = r1;
  *s2 = r2;
}

template <int NB>
TKG_AVX2 inline float dot(const float* a, const float* x) {
  __m128 c = _mm_setzero_ps();
  for (int j = 0; j < 2 * NB; ++j) c = _mm_add_ps(c, _mm_mul_ps(_mm_loadu_ps(a + 4 * j), _mm_loadu_ps(x + 4 * j)));
  alignas(16) float l[4];
  _mm_store_ps(l, c);
  float r = 0.0f;
  for (int t = 0; t < 4; ++t) r += l[t];
  return r;
}

template <int NB>
TKG_AVX2 inline void load(__m256 (&r)[NB], const float* p) {
  for (int b = 0; b < NB; ++b) r[b] = _mm256_loadu_ps(p + 8 * b);
}

template <int NB>
TKG_AVX2 inline void store(const __m256 (&r)[NB], float* p) {
  for (int b = 0; b < NB; ++b) _mm256_storeu_ps(p + 8 * b, r[b]);
}

// r = a·x + r per element (the portable axpy: a product, then a sum; no FMA).
template <int NB>
TKG_AVX2 inline void axpy(float a, const float* x, __m256 (&r)[NB]) {
  const __m256 av = _mm256_set1_ps(a);
  for (int b = 0; b < NB; ++b) r[b] = _mm256_add_ps(_mm256_mul_ps(av, _mm256_loadu_ps(x + 8 * b)), r[b]);
}

// r = (a·x + b·z) + r per element (the portable axpbz).
template <int NB>
TKG_AVX2 inline void axpbz(float a, const float* x, float bz, const float* z, __m256 (&r)[NB]) {
  const __m256 av = _mm256_set1_ps(a), bv = _mm256_set1_ps(bz);
  for (int b = 0; b < NB; ++b) {
    const __m256 t = _mm256_add_ps(_mm256_mul_ps(av, _mm256_loadu_ps(x + 8 * b)), _mm256_mul_ps(bv, _mm256_loadu_ps(z + 8 * b)));
    r[b] = _mm256_add_ps(t, r[b]);
  }
}

template <int NB>
inline void prefetch_row(const float* p) {
  for (int c = 0; c < NB / 2; ++c) __builtin_prefetch(p + 16 * c);
}

inline float sigmoid(float t) { return 1.0f / (1.0f + std::exp(-t)); }

inline void omega(int att, float t, float* w, float* dw) {
  if (att == 0) {
    const float s = sigmoid(t);
    *w = 4.0f * s * (1.0f - s);
    *dw = *w * (1.0f - 2.0f * s);
  } else if (att == 2) {
    *w = t > 0 ? t : 0.0f;
    *dw = t > 0 ? 1.0f : 0.0f;
  } else {
    *w = 1.0f;
    *dw = 0.0f;
  }
}

template <int NB>
TKG_AVX2 void forward_rows_t(const float* x, const float* beta, const Csr& g, int att, int64_t rb, int64_t re,
                             const float* inv, float* y, float* a_out, float* cos_out, float* dom_out) {
  constexpr int64_t d = 8 * NB;
  const bool scored = att != 1;
  const int64_t end = g.indptr[re];
  // Edge k's weight (and saved scalars) from its cosine's dot product.
  auto weight = [&](int64_t v, int64_t k, float dt) {
    float a = static_cast<float>(g.norm[k]);
    if (scored) {
      const float c = dt * inv[v] * inv[g.indices[k]];
      float om, dom;
      omega(att, c - beta[v < g.n_user_rows ? v : g.indices[k]], &om, &dom);  // β of the edge's user
      a *= om;
      cos_out[k] = c;
      dom_out[k] = dom * static_cast<float>(g.norm[k]);
    }
    a_out[k] = a;
    return a;
  };
  for (int64_t v = rb; v < re; ++v) {
    const float* xv = x + v * d;
    __m256 acc[NB];
    for (int b = 0; b < NB; ++b) acc[b] = _mm256_setzero_ps();
    const int64_t kb = g.indptr[v], ke = g.indptr[v + 1];
    int64_t k = kb;
    for (; k + 1 < ke; k += 2) {
      if (k + kAhead + 1 < end) {
        prefetch_row<NB>(x + g.indices[k + kAhead] * d);
        prefetch_row<NB>(x + g.indices[k + kAhead + 1] * d);
      }
      const float *x1 = x + g.indices[k] * d, *x2 = x + g.indices[k + 1] * d;
      float d1 = 0, d2 = 0;
      if (scored) dot2<NB>(xv, x1, x2, &d1, &d2);
      const float a1 = weight(v, k, d1), a2 = weight(v, k + 1, d2);
      if (y) {
        axpy(a1, x1, acc);
        axpy(a2, x2, acc);
      }
    }
    if (k < ke) {
      const float* x1 = x + g.indices[k] * d;
      const float a1 = weight(v, k, scored ? dot<NB>(xv, x1) : 0.0f);
      if (y) axpy(a1, x1, acc);
    }
    if (y) store(acc, y + v * d);
  }
}

template <int NB>
TKG_AVX2 void backward_rows_t(const float* x, const float* gy, const Csr& g, int64_t rb, int64_t re, const float* cos_e,
                              const float* dom_e, const float* inv, float* gt, float* gx, float* gbeta) {
  constexpr int64_t d = 8 * NB;
  const int64_t end = g.indptr[re];
  for (int64_t v = rb; v < re; ++v) {
    if (g.active && !g.active[v]) {  // gy_v = 0: every dL/dt of the row is 0, and nothing lands anywhere
      for (int64_t k = g.indptr[v]; k < g.indptr[v + 1]; ++k) gt[k] = 0;
      continue;
    }
    const float* gyv = gy + v * d;
    __m256 acc[NB];
    load(acc, gx + v * d);
    float self = 0;
    // Edge k, given its dot product gy_v·x_w: dL/dt, and the cosine's part on row v.
    auto edge = [&](int64_t k, float dt, const float* xw) {
      const int64_t w = g.indices[k];
      const float c = cos_e[k];
      const float g_t = dt * dom_e[k];
      gt[k] = g_t;
      axpy(g_t * inv[w] * inv[v], xw, acc);
      self -= g_t * c * inv[v] * inv[v];
      if (v < g.n_user_rows) gbeta[v] -= g_t;  // the row is the edge's user
    };
    const int64_t kb = g.indptr[v], ke = g.indptr[v + 1];
    int64_t k = kb;
    for (; k + 1 < ke; k += 2) {
      if (k + kAhead + 1 < end) {
        prefetch_row<NB>(x + g.indices[k + kAhead] * d);
        prefetch_row<NB>(x + g.indices[k + kAhead + 1] * d);
      }
      const float *x1 = x + g.indices[k] * d, *x2 = x + g.indices[k + 1] * d;
      float d1, d2;
      dot2<NB>(gyv, x1, x2, &d1, &d2);
      edge(k, d1, x1);
      edge(k + 1, d2, x2);
    }
    if (k < ke) {
      const float* x1 = x + g.indices[k] * d;
      edge(k, dot<NB>(gyv, x1), x1);
    }
    axpy(self, x + v * d, acc);
    store(acc, gx + v * d);
  }
}

template <int NB>
TKG_AVX2 void backward_cols_t(const float* x, const float* gy, const Csr& g, bool scored, int64_t cb, int64_t ce,
                              const float* a, const float* gt, const float* cos_e, const float* inv, float* gx,
                              float* gbeta) {
  constexpr int64_t d = 8 * NB;
  const int64_t end = g.csc_ptr[ce];
  for (int64_t w = cb; w < ce; ++w) {
    __m256 acc[NB];
    load(acc, gx + w * d);
    float self = 0;
    for (int64_t j = g.csc_ptr[w]; j < g.csc_ptr[w + 1]; ++j) {
      if (j + kAhead < end) {
        const int64_t v2 = g.csc_row[j + kAhead];
        if (!g.active || g.active[v2]) {
          prefetch_row<NB>(gy + v2 * d);
          if (scored) prefetch_row<NB>(x + v2 * d);
        }
      }
      const int64_t v = g.csc_row[j];  // read in sequence, not through k
      if (g.active && !g.active[v]) continue;  // gy_v = 0 and dL/dt = 0: the edge adds exact zeros
      const int64_t k = g.csc_edge[j];
      if (!scored) {
        axpy(a[k], gy + v * d, acc);
        continue;
      }
      const float g_t = gt[k];
      axpbz(a[k], gy + v * d, g_t * inv[v] * inv[w], x + v * d, acc);
      self -= g_t * cos_e[k] * inv[w] * inv[w];
      if (v >= g.n_user_rows) gbeta[w] -= g_t;  // the column is the edge's user
    }
    if (scored) axpy(self, x + w * d, acc);
    store(acc, gx + w * d);
  }
}

}  // namespace

bool supported(int64_t d) {
  static const bool cpu = __builtin_cpu_supports("avx2");
  return cpu && (d == 32 || d == 64 || d == 128);
}

void forward_rows(const float* x, const float* beta, int64_t d, const Csr& g, int att, int64_t b, int64_t e,
                  const float* inv, float* y, float* a_out, float* cos_out, float* dom_out) {
#define TKG_CALL(NB) forward_rows_t<NB>(x, beta, g, att, b, e, inv, y, a_out, cos_out, dom_out)
  switch (d) {
    case 32: TKG_CALL(4); break;
    case 64: TKG_CALL(8); break;
    case 128: TKG_CALL(16); break;
    default: break;
  }
#undef TKG_CALL
}

void backward_rows(const float* x, const float* gy, int64_t d, const Csr& g, int64_t b, int64_t e, const float* cos_e,
                   const float* dom_e, const float* inv, float* gt, float* gx, float* gbeta) {
#define TKG_CALL(NB) backward_rows_t<NB>(x, gy, g, b, e, cos_e, dom_e, inv, gt, gx, gbeta)
  switch (d) {
    case 32: TKG_CALL(4); break;
    case 64: TKG_CALL(8); break;
    case 128: TKG_CALL(16); break;
    default: break;
  }
#undef TKG_CALL
}

void backward_cols(const float* x, const float* gy, int64_t d, const Csr& g, bool scored, int64_t b, int64_t e,
                   const float* a, const float* gt, const float* cos_e, const float* inv, float* gx, float* gbeta) {
#define TKG_CALL(NB) backward_cols_t<NB>(x, gy, g, scored, b, e, a, gt, cos_e, inv, gx, gbeta)
  switch (d) {
    case 32: TKG_CALL(4); break;
    case 64: TKG_CALL(8); break;
    case 128: TKG_CALL(16); break;
    default: break;
  }
#undef TKG_CALL
}

#else  // no AVX2 kernels in this build: the portable kernels run

bool supported(int64_t) { return false; }
void forward_rows(const float*, const float*, int64_t, const Csr&, int, int64_t, int64_t, const float*, float*, float*,
                  float*, float*) {}
void backward_rows(const float*, const float*, int64_t, const Csr&, int64_t, int64_t, const float*, const float*,
                   const float*, float*, float*, float*) {}
void backward_cols(const float*, const float*, int64_t, const Csr&, bool, int64_t, int64_t, const float*, const float*,
                   const float*, const float*, float*, float*) {}

#endif

}  // namespace tkg::avx2
