// The commit this build was made from (git SHA, "-dirty" with uncommitted changes to tracked
// files), refreshed at every build by cmake/version.cmake.
#pragma once

namespace tkg {

const char* build_version();

}  // namespace tkg
