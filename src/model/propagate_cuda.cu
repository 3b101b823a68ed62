// CUDA kernels of the fused TopKGAT layer; the math and the two backward passes are those of the
// CPU operator (propagate.cpp, forward_kernel / backward_kernel), one warp per row or column.
#include "model/propagate_cuda.hpp"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace tkg::cuda {

namespace {

constexpr int kWarp = 32;
constexpr int kThreads = 256;  // 8 warps per block

template <typename T>
__device__ T warp_sum(T v) {
  for (int off = kWarp / 2; off > 0; off /= 2) v += __shfl_down_sync(0xffffffffu, v, off);
  return __shfl_sync(0xffffffffu, v, 0);
}

// dot of two d-vectors by one warp (every lane gets the result)
template <typename T>
__device__ T warp_dot(const T* a, const T* b, int64_t d, int lane) {
  T s = 0;
  for (int64_t t = lane; t < d; t += kWarp) s += a[t] * b[t];
  return warp_sum(s);
}

template <typename T>
__device__ void omega(int att, T t, T* w, T* dw) {
  if (att == 0) {
    const T s = T(1) / (T(1) + exp(-t));
    *w = T(4) * s * (T(1) - s);
    *dw = *w * (T(1) - T(2) * s);
  } else if (att == 2) {
    *w = t > 0 ? t : T(0);
    *dw = t > 0 ? T(1) : T(0);
  } else {
    *w = T(1);
    *dw = T(0);
  }
}

__device__ int64_t warp_index() { return (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; }

template <typename T>
__global__ void inverse_norms_kernel(const T* x, int64_t n, int64_t d, T* inv) {
  const int64_t w = warp_index();
  const int lane = threadIdx.x % kWarp;
  if (w >= n) return;
  const T s = warp_dot(x + w * d, x + w * d, d, lane);
  if (lane == 0) inv[w] = T(1) / max(sqrt(s), T(1e-12));
}

template <typename T>
__global__ void forward_kernel(const T* x, const T* beta, int64_t d, DeviceGraph g, int att, T* y, T* a_out,
                               T* cos_out, T* dom_out, const T* inv) {
  const int64_t v = warp_index();
  const int lane = threadIdx.x % kWarp;
  if (v >= g.n_own) return;
  const bool scored = att != 1;
  T* yv = y + v * d;
  const T* xv = x + v * d;
  for (int64_t t = lane; t < d; t += kWarp) yv[t] = 0;
  for (int64_t k = g.indptr[v]; k < g.indptr[v + 1]; ++k) {
    const int64_t w = g.indices[k];
    const T* xw = x + w * d;
    T a = static_cast<T>(g.norm[k]);
    if (scored) {
      const T c = warp_dot(xv, xw, d, lane) * inv[v] * inv[w];
      T om, dom;
      omega(att, c - beta[g.edge_user[k]], &om, &dom);
      a *= om;
      if (lane == 0) {
        cos_out[k] = c;
        dom_out[k] = dom * static_cast<T>(g.norm[k]);
      }
    }
    if (lane == 0) a_out[k] = a;
    for (int64_t t = lane; t < d; t += kWarp) yv[t] += a * xw[t];
  }
}

// Pass 1, by row v: dL/dt per edge, and the gradient through cos that lands on row v.
template <typename T>
__global__ void backward_rows_kernel(const T* x, const T* gy, int64_t d, DeviceGraph g, const T* cos_e,
                                     const T* dom_e, const T* inv, T* gt, T* gx, T* gbeta) {
  const int64_t v = warp_index();
  const int lane = threadIdx.x % kWarp;
  if (v >= g.n_own) return;
  const T* gyv = gy + v * d;
  T* gxv = gx + v * d;
  T self = 0;
  T gb = 0;
  for (int64_t k = g.indptr[v]; k < g.indptr[v + 1]; ++k) {
    const int64_t w = g.indices[k];
    const T* xw = x + w * d;
    const T g_t = warp_dot(gyv, xw, d, lane) * dom_e[k];
    if (lane == 0) gt[k] = g_t;
    const T coef = g_t * inv[w] * inv[v];
    for (int64_t t = lane; t < d; t += kWarp) gxv[t] += coef * xw[t];
    self -= g_t * cos_e[k] * inv[v] * inv[v];
    if (g.edge_user[k] == v) gb -= g_t;
  }
  const T* xv = x + v * d;
  for (int64_t t = lane; t < d; t += kWarp) gxv[t] += self * xv[t];
  if (lane == 0) gbeta[v] += gb;
}

// Pass 2, by column w: the message gradient a·gy_v and d cos / d x_w.
template <typename T>
__global__ void backward_cols_kernel(const T* x, const T* gy, int64_t d, DeviceGraph g, bool scored, const T* a,
                                     const T* cos_e, const T* inv, const T* gt, T* gx, T* gbeta) {
  const int64_t w = warp_index();
  const int lane = threadIdx.x % kWarp;
  if (w >= g.n_local) return;
  T* gxw = gx + w * d;
  T self = 0;
  T gb = 0;
  for (int64_t j = g.csc_ptr[w]; j < g.csc_ptr[w + 1]; ++j) {
    const int64_t k = g.csc_edge[j];
    const int64_t v = g.edge_row[k];
    const T* gyv = gy + v * d;
    if (!scored) {
      for (int64_t t = lane; t < d; t += kWarp) gxw[t] += a[k] * gyv[t];
      continue;
    }
    const T g_t = gt[k];
    const T b = g_t * inv[v] * inv[w];
    const T* xv = x + v * d;
    for (int64_t t = lane; t < d; t += kWarp) gxw[t] += a[k] * gyv[t] + b * xv[t];
    self -= g_t * cos_e[k] * inv[w] * inv[w];
    if (g.edge_user[k] == w) gb -= g_t;
  }
  if (scored) {
    const T* xw = x + w * d;
    for (int64_t t = lane; t < d; t += kWarp) gxw[t] += self * xw[t];
    if (lane == 0) gbeta[w] += gb;
  }
}

int64_t blocks_for_warps(int64_t warps) { return (warps * kWarp + kThreads - 1) / kThreads; }

void check_launch(const char* kernel) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("CUDA kernel ") + kernel + " failed: " + cudaGetErrorName(e) + " (" +
                             cudaGetErrorString(e) + ")");
}

}  // namespace

template <typename T>
void propagate_forward(const T* x, const T* beta, int64_t d, const DeviceGraph& g, int attention, T* y, T* a, T* cos,
                       T* dom, T* inv) {
  const bool scored = attention != 1;
  if (scored && g.n_local > 0) {
    inverse_norms_kernel<T><<<blocks_for_warps(g.n_local), kThreads>>>(x, g.n_local, d, inv);
    check_launch("tkg inverse_norms");
  }
  if (g.n_own > 0) {
    forward_kernel<T><<<blocks_for_warps(g.n_own), kThreads>>>(x, beta, d, g, attention, y, a, cos, dom, inv);
    check_launch("tkg propagate forward");
  }
}

template <typename T>
void propagate_backward(const T* x, const T* gy, int64_t d, const DeviceGraph& g, int attention, const T* a,
                        const T* cos, const T* dom, const T* inv, T* gt, T* gx, T* gbeta) {
  const bool scored = attention != 1;
  if (scored && g.n_own > 0) {
    backward_rows_kernel<T><<<blocks_for_warps(g.n_own), kThreads>>>(x, gy, d, g, cos, dom, inv, gt, gx, gbeta);
    check_launch("tkg propagate backward (rows)");
  }
  if (g.n_local > 0) {
    backward_cols_kernel<T><<<blocks_for_warps(g.n_local), kThreads>>>(x, gy, d, g, scored, a, cos, inv, gt, gx, gbeta);
    check_launch("tkg propagate backward (columns)");
  }
}

template void propagate_forward<float>(const float*, const float*, int64_t, const DeviceGraph&, int, float*, float*,
                                       float*, float*, float*);
template void propagate_forward<double>(const double*, const double*, int64_t, const DeviceGraph&, int, double*,
                                        double*, double*, double*, double*);
template void propagate_backward<float>(const float*, const float*, int64_t, const DeviceGraph&, int, const float*,
                                        const float*, const float*, const float*, float*, float*, float*);
template void propagate_backward<double>(const double*, const double*, int64_t, const DeviceGraph&, int,
                                         const double*, const double*, const double*, const double*, double*, double*,
                                         double*);

}  // namespace tkg::cuda
