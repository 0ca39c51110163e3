#pragma once
/// Interleaved sampling: shmd and its references take turns, round after round.

#include <functional>
#include <vector>

namespace shm::bench {

/// One measurement: returns a cost (e.g. ns per operation).
using Sample = std::function<double()>;

/// Every sample a sampler gave, in round order.
using Samples = std::vector<double>;

/// Runs every sampler once per round, in turn (reversed every other round), for `rounds` rounds, so that a noisy neighbour
/// hits all of them alike; returns each sampler's samples, round by round.
std::vector<Samples> interleaved_samples(int rounds, const std::vector<Sample>& samplers);

/// The median of `values` (which must not be empty).
double median(std::vector<double> values);

}  // namespace shm::bench
