#ifndef RECORDSTORE_CLI_DEMO_H_
#define RECORDSTORE_CLI_DEMO_H_

#include <string>

namespace recordstore::cli {

// Runs the engine demo against a durable store under `data_dir`; returns the exit code.
int RunDemo(const std::string& data_dir, int threads, int transfers);

}  // namespace recordstore::cli

#endif  // RECORDSTORE_CLI_DEMO_H_
