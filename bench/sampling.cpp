#include "sampling.hpp"

#include <algorithm>
#include <stdexcept>

namespace shm::bench {

double median(std::vector<double> values) {
  if (values.empty()) throw std::invalid_argument("median of nothing");
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::vector<Samples> interleaved_samples(int rounds, const std::vector<Sample>& samplers) {
  std::vector<Samples> samples(samplers.size());
  for (int r = 0; r < rounds; ++r) {
    // Odd rounds run in reverse, so no sampler always goes first (after another's setup).
    for (std::size_t k = 0; k < samplers.size(); ++k) {
      const std::size_t i = r % 2 == 0 ? k : samplers.size() - 1 - k;
      samples[i].push_back(samplers[i]());
    }
  }
  return samples;
}

}  // namespace shm::bench
