// .npy matrices (NumPy's format 1.0, C order) written and read row-wise by several ranks at once:
// the run's embeddings and the resumable checkpoint's tensors (DESIGN §7). The caller writes under
// a temp name and renames when complete. No torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tkg {

// Element types of the .npy files written row-wise by several ranks.
enum class NpyType { kFloat32, kUInt8 };
size_t npy_type_size(NpyType t);

// Creates `path` as a .npy of shape [rows, cols] (C order), zero-filled to full size.
void npy_create(const std::string& path, int64_t rows, int64_t cols, NpyType type);
// Rows (data [n, cols] of `type`, row-major) at row positions row_ids (pwrite; disjoint rows may
// be written by several processes at once), and read back (pread; O(len(row_ids)) memory).
// Reading checks the element type and the column count and refuses rows outside the file.
void npy_write_rows(const std::string& path, int64_t cols, NpyType type, const std::vector<int64_t>& row_ids,
                    const void* data);
void npy_read_rows(const std::string& path, int64_t cols, NpyType type, const std::vector<int64_t>& row_ids, void* out,
                   int64_t* rows_out = nullptr);

// Creates `path` as a float32 .npy of shape [rows, cols] (C order), zero-filled to full size.
void npy_create_f32(const std::string& path, int64_t rows, int64_t cols);
// Writes rows (data [n, cols] float32, row-major) at row positions row_ids of an existing .npy
// created by npy_create_f32. Several processes may write disjoint rows concurrently.
void npy_write_rows(const std::string& path, int64_t cols, const std::vector<int64_t>& row_ids, const float* data);
// Reads rows row_ids of a float32 [rows, cols] .npy (pread, so memory is O(len(row_ids))).
// Throws InputError if the file is not such a .npy or `cols` differs.
void npy_read_rows(const std::string& path, int64_t cols, const std::vector<int64_t>& row_ids, float* out,
                   int64_t* rows_out = nullptr);
// Reads a float32 .npy written by the functions above: returns shape and data.
std::vector<float> npy_read_f32(const std::string& path, int64_t* rows, int64_t* cols);

}  // namespace tkg
