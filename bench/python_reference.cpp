#include "python_reference.hpp"

#include <unistd.h>

#include <stdexcept>

#include "child_process.hpp"
#include "pipe.hpp"

namespace shm::bench {

double run_python_reference(const BenchConfig& config, const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> argv{config.python, config.python_dir + "/" + script};
  argv.insert(argv.end(), args.begin(), args.end());
  Pipe out = Pipe::open();
  ChildProcess python(argv, {{out.write.get(), STDOUT_FILENO}});
  out.write.reset();
  std::string text;
  char buf[256];
  ssize_t n;
  while ((n = ::read(out.read.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  python.wait();
  try {
    return std::stod(text);
  } catch (const std::exception&) {
    throw std::runtime_error(script + " printed '" + text + "', not a number");
  }
}

}  // namespace shm::bench
