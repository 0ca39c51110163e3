#include "python_reference.hpp"

#include <unistd.h>

#include <sstream>
#include <stdexcept>

#include "child_process.hpp"
#include "pipe.hpp"

namespace shm::bench {
namespace {

/// What the script printed on stdout; throws if it did not exit with 0.
std::string run_script(const BenchConfig& config, const std::string& script, const std::vector<std::string>& args) {
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
  return text;
}

}  // namespace

double run_python_reference(const BenchConfig& config, const std::string& script,
                            const std::vector<std::string>& args) {
  const std::string text = run_script(config, script, args);
  try {
    return std::stod(text);
  } catch (const std::exception&) {
    throw std::runtime_error(script + " printed '" + text + "', not a number");
  }
}

}  // namespace shm::bench

namespace shm::bench {

std::vector<double> run_python_costs(const BenchConfig& config, const std::string& script,
                                     const std::vector<std::string>& args, std::size_t count) {
  const std::string text = run_script(config, script, args);
  std::istringstream in(text);
  std::vector<double> out;
  std::string word;
  while (in >> word) {
    try {
      out.push_back(std::stod(word));  // also "nan"
    } catch (const std::exception&) {
      break;
    }
  }
  if (out.size() != count)
    throw std::runtime_error(script + " printed '" + text + "', not " + std::to_string(count) + " numbers");
  return out;
}

}  // namespace shm::bench
