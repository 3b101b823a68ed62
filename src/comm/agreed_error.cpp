#include "comm/agreed_error.hpp"

#include <cstdint>
#include <vector>

#include "comm/comm_error.hpp"
#include "comm/communicator.hpp"
#include "common/error.hpp"

namespace tkg {

std::string broadcast_string(Communicator& comm, const std::string& s, int root) {
  int64_t n = comm.rank() == root ? static_cast<int64_t>(s.size()) : 0;
  comm.broadcast(&n, sizeof n, root);
  std::string out = comm.rank() == root ? s : std::string(static_cast<size_t>(n), '\0');
  comm.broadcast(out.data(), n, root);
  return out;
}

void run_agreed(Communicator& comm, const std::function<void()>& step) {
  int64_t code = 0;
  std::string message;
  try {
    step();
  } catch (const CommFailure&) {
    throw;
  } catch (const AgreedError& e) {  // an inner agreement already failed on every rank
    throw;
  } catch (const InputError& e) {
    code = 2, message = e.what();
  } catch (const std::exception& e) {
    code = 1, message = e.what();
  }
  const std::vector<int64_t> codes = comm.all_gather_one(code);
  int origin = -1;
  for (int r = 0; r < static_cast<int>(codes.size()); ++r)
    if (codes[r] != 0) {
      origin = r;
      break;
    }
  if (origin < 0) return;
  message = broadcast_string(comm, message, origin);
  throw AgreedError(message, static_cast<int>(codes[origin]), origin);
}

}  // namespace tkg
