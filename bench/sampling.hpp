#pragma once
/// Interleaved sampling: shmd and its references take turns, round after round.

#include <array>
#include <functional>
#include <vector>

namespace shm::bench {

/// One measurement: returns a cost (e.g. ns per operation).
using Sample = std::function<double()>;

/// Every sample a sampler gave, in round order.
using Samples = std::vector<double>;

/// One sampler's samples, and those of the same sampler run a second time in every round: the
/// two series of an A/A comparison, which must agree as far as the method is sound.
struct Twin {
  Samples first;  ///< the samples of its first turn in each round
  Samples again;  ///< the samples of its second turn in each round
};

/// Runs every sampler once per round, in turn, for `rounds` rounds, so that a noisy neighbour hits
/// all of them alike; round r starts at sampler r (mod their count) and goes round, so that every
/// sampler takes every place in turn and, with three or more, none runs twice in a row across
/// two rounds. Returns each sampler's samples, round by round.
std::vector<Samples> interleaved_samples(int rounds, const std::vector<Sample>& samplers);

/// One measurement that knows which of its sampler's two turns in the round it is (0 or 1, or
/// kWarmUp), for samplers that keep more than the cost (CPU time, say) per turn.
using TurnSample = std::function<double(int turn)>;

/// The turn of the untimed warm-up call interleaved_twins() makes of every sampler before the
/// rounds; a sampler that records anything beside its cost must not record it.
inline constexpr int kWarmUp = -1;

/// After one warm-up call of every sampler whose result is dropped (the first call of a side pays
/// for cold caches, page tables, a daemon's shrunk poll window, and with three rounds it would be
/// a third of that side's first turns), every sampler takes two turns per round, in the circle
/// s0 s1 ... sN-1 s0' s1' ... sN-1' (s' the second turn), the rounds alternately starting at s0
/// and at s0'. So the run is the circle over and over: a turn always follows the same sampler
/// (s0 and s0' both follow sN-1's turns), no sampler ever runs twice in a row, and both turns
/// of a sampler take the first and the second half of a round equally often. The two turns then
/// differ only by chance, as an A/A pair must. (Starting each round one place further on, as
/// interleaved_samples() does, made one of two samplers run twice in a row at every boundary
/// between rounds: a turn right after its own twin, on the caches that twin had warmed.)
std::vector<Twin> interleaved_twins(int rounds, const std::vector<TurnSample>& samplers);

/// interleaved_twins() for samplers that need not know their turn.
std::vector<Twin> interleaved_twins(int rounds, const std::vector<Sample>& samplers);

/// The median of `values` (which must not be empty).
double median(std::vector<double> values);

/// The first quartile, the median and the third quartile of `values` (which must not be empty),
/// interpolated between order statistics as numpy's default does.
std::array<double, 3> quartiles(std::vector<double> values);

/// Each round's own ratio a[r] / b[r] where both have as many samples; otherwise (samples taken
/// apart, as the slow Python references are) every a[i] / b[j].
std::vector<double> ratios(const Samples& a, const Samples& b);

}  // namespace shm::bench
