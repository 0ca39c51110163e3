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

std::array<double, 3> quartiles(std::vector<double> values) {
  if (values.empty()) throw std::invalid_argument("quartiles of nothing");
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {
    const double pos = q * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
  };
  return {at(0.25), at(0.5), at(0.75)};
}

std::vector<double> ratios(const Samples& a, const Samples& b) {
  std::vector<double> out;
  if (a.size() == b.size()) {
    for (std::size_t i = 0; i < a.size(); ++i) out.push_back(a[i] / b[i]);
    return out;
  }
  for (const double x : a)
    for (const double y : b) out.push_back(x / y);
  return out;
}

std::vector<Samples> interleaved_samples(int rounds, const std::vector<Sample>& samplers) {
  std::vector<Samples> samples(samplers.size());
  for (int r = 0; r < rounds; ++r) {
    // Each round starts one place further round the circle, so no sampler always goes first
    // (after another's setup), and the last of one round is not the first of the next (as it
    // was when every other round ran in reverse: that sampler ran twice in a row).
    for (std::size_t k = 0; k < samplers.size(); ++k) {
      const std::size_t i = (static_cast<std::size_t>(r) + k) % samplers.size();
      samples[i].push_back(samplers[i]());
    }
  }
  return samples;
}

std::vector<Twin> interleaved_twins(int rounds, const std::vector<TurnSample>& samplers) {
  for (const auto& s : samplers) (void)s(kWarmUp);
  const std::size_t n = samplers.size();
  std::vector<Twin> twins(n);
  for (int r = 0; r < rounds; ++r) {
    const int first_turn = r % 2;  // round 0: s0 .. sN-1 s0' .. sN-1'; round 1: s0' .. sN-1' s0 .. sN-1
    for (int half = 0; half < 2; ++half) {
      const int turn = (first_turn + half) % 2;
      for (std::size_t i = 0; i < n; ++i) (turn == 0 ? twins[i].first : twins[i].again).push_back(samplers[i](turn));
    }
  }
  return twins;
}

std::vector<Twin> interleaved_twins(int rounds, const std::vector<Sample>& samplers) {
  std::vector<TurnSample> with_turns;
  for (const auto& s : samplers) with_turns.emplace_back([&s](int) { return s(); });
  return interleaved_twins(rounds, with_turns);
}

}  // namespace shm::bench
