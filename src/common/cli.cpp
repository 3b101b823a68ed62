#include "common/cli.hpp"

#include <boost/program_options/errors.hpp>
#include <iostream>

#include "common/error.hpp"

namespace tkg {

int run_tool(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const InputError& e) {
    std::cerr << program << ": error: " << e.what() << std::endl;
    return 2;
  } catch (const boost::program_options::error& e) {
    std::cerr << program << ": error: " << e.what() << " (see --help)" << std::endl;
    return 2;
  } catch (const CommFailure& e) {  // a failed MPI/NCCL call: the same exit code as a collective's timeout
    std::cerr << program << ": communication error: " << e.what() << std::endl;
    return kExitCommFailure;
  } catch (const std::exception& e) {
    std::cerr << program << ": internal error: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace tkg
