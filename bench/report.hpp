#pragma once
/// Report: every measured figure of one run, written out as JSON.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sampling.hpp"

namespace shm::bench {

/// Collects ratio figures, absolute figures and the machine description, then prints JSON:
/// {"ratios": {name: ratio}, "aa": {name: {"shmd": a, "reference": b}}, "figures": {name: details},
///  "absolute": {name: details}, "machine": {...}}.
class Report {
 public:
  /// A ratio figure: the median of shmd's costs over the median of the reference's (both turns
  /// of each, lower is better), with its goal; the quartiles of the per-round ratios beside it;
  /// and the two A/A figures, each side's first turns against its second turns, which read 1.00
  /// where the method is sound. The samples themselves go into the JSON too.
  void figure(const std::string& name, const Twin& shmd, const Twin& reference, const std::string& unit, double goal,
              const std::string& note = {});
  /// An absolute figure; `goal` is an upper bound unless `at_least`.
  void absolute(const std::string& name, double value, const std::string& unit, std::optional<double> goal,
                bool at_least = false, const std::string& note = {});
  /// A line of the machine description.
  void machine(const std::string& key, const std::string& value);
  /// A numeric line of the machine description.
  void machine(const std::string& key, double value);

  /// The whole report as one JSON object.
  [[nodiscard]] std::string json() const;

 private:
  /// One ratio figure.
  struct Figure {
    std::string name;  ///< e.g. locked_increment/robust_mutex
    Twin shmd;         ///< shmd's costs, two turns per round
    Twin reference;    ///< the reference's costs, two turns per round
    std::string unit;  ///< unit of both costs
    double goal;       ///< the highest acceptable ratio
    std::string note;  ///< how it was measured
  };
  /// One absolute figure.
  struct Absolute {
    std::string name;            ///< e.g. create_100k_segments
    double value;                ///< the measurement
    std::string unit;            ///< its unit
    std::optional<double> goal;  ///< the bound, if any
    bool at_least;               ///< the goal is a lower bound
    std::string note;            ///< how it was measured
  };
  std::vector<Figure> figures_;                               ///< in measurement order
  std::vector<Absolute> absolutes_;                           ///< in measurement order
  std::vector<std::pair<std::string, std::string>> machine_;  ///< key -> JSON value
};

/// `s` as a JSON string literal.
std::string json_string(const std::string& s);

}  // namespace shm::bench
