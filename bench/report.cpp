#include "report.hpp"

#include <array>
#include <cmath>
#include <cstdio>

namespace shm::bench {
namespace {

std::string number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string boolean(bool b) { return b ? "true" : "false"; }

std::string triple(const std::array<double, 3>& q) {
  return "[" + number(q[0]) + ", " + number(q[1]) + ", " + number(q[2]) + "]";
}

Samples both(const Twin& t) {
  Samples all(t.first);
  all.insert(all.end(), t.again.begin(), t.again.end());
  return all;
}

/// An A/A comparison in JSON: the ratio of the medians, the quartiles of the per-round ratios, and
/// whether 1.00 lies between those quartiles (the A/A reads 1.00 within its spread).
std::string aa_json(const Twin& t, double& ratio) {
  ratio = median(t.first) / median(t.again);
  const auto q = quartiles(ratios(t.first, t.again));
  return "{\"ratio\": " + number(ratio) + ", \"quartiles\": " + triple(q) +
         ", \"one_within_quartiles\": " + boolean(q[0] <= 1 && 1 <= q[2]) + "}";
}

std::string numbers(const Samples& values) {
  std::string out = "[";
  for (const double v : values) out += (out.size() > 1 ? ", " : "") + number(v);
  return out + "]";
}

}  // namespace

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void Report::figure(const std::string& name, const Twin& shmd, const Twin& reference, const std::string& unit,
                    double goal, const std::string& note) {
  figures_.push_back({name, shmd, reference, unit, goal, note});
}

void Report::absolute(const std::string& name, double value, const std::string& unit, std::optional<double> goal,
                      bool at_least, const std::string& note) {
  absolutes_.push_back({name, value, unit, goal, at_least, note});
}

void Report::machine(const std::string& key, const std::string& value) {
  machine_.emplace_back(key, json_string(value));
}

void Report::machine(const std::string& key, double value) { machine_.emplace_back(key, number(value)); }

std::string Report::json() const {
  std::string ratio_list, aa_list, details, absolute, machine;
  for (const auto& f : figures_) {
    const double shmd = median(both(f.shmd));
    const double reference = median(both(f.reference));
    const double ratio = shmd / reference;
    // Each round's ratios: first turn against first turn, second against second.
    std::vector<double> per_round = ratios(f.shmd.first, f.reference.first);
    const std::vector<double> second = ratios(f.shmd.again, f.reference.again);
    per_round.insert(per_round.end(), second.begin(), second.end());
    double aa_shmd = 0;
    double aa_reference = 0;
    const std::string aa =
        "{\"shmd\": " + aa_json(f.shmd, aa_shmd) + ", \"reference\": " + aa_json(f.reference, aa_reference);
    const bool aa_off = std::abs(aa_shmd - 1) > 0.05 || std::abs(aa_reference - 1) > 0.05;
    const std::string sep = ratio_list.empty() ? "\n    " : ",\n    ";
    ratio_list += sep + json_string(f.name) + ": " + number(ratio);
    aa_list += sep + json_string(f.name) + ": {\"shmd\": " + number(aa_shmd) +
               ", \"reference\": " + number(aa_reference) + "}";
    details += sep + json_string(f.name) + ": {\"shmd\": " + number(shmd) + ", \"reference\": " + number(reference) +
               ", \"unit\": " + json_string(f.unit) + ", \"ratio\": " + number(ratio) +
               ", \"ratio_quartiles\": " + triple(quartiles(per_round)) + ", \"goal\": " + number(f.goal) +
               ", \"met\": " + boolean(ratio <= f.goal) + ", \"aa\": " + aa +
               ", \"off_by_more_than_5pct\": " + boolean(aa_off) + "}" +
               ", \"shmd_samples\": " + numbers(f.shmd.first) + ", \"shmd_again_samples\": " + numbers(f.shmd.again) +
               ", \"reference_samples\": " + numbers(f.reference.first) +
               ", \"reference_again_samples\": " + numbers(f.reference.again) + ", \"note\": " + json_string(f.note) +
               "}";
  }
  for (const auto& a : absolutes_) {
    const std::string sep = absolute.empty() ? "\n    " : ",\n    ";
    absolute += sep + json_string(a.name) + ": {\"value\": " + number(a.value) + ", \"unit\": " + json_string(a.unit);
    if (a.goal) {
      const bool met = a.at_least ? a.value >= *a.goal : a.value <= *a.goal;
      absolute += ", \"goal\": " + number(*a.goal) +
                  ", \"goal_is\": " + json_string(a.at_least ? "at_least" : "at_most") + ", \"met\": " + boolean(met);
    }
    absolute += ", \"note\": " + json_string(a.note) + "}";
  }
  for (const auto& [key, value] : machine_)
    machine += (machine.empty() ? "\n    " : ",\n    ") + json_string(key) + ": " + value;
  return "{\n  \"ratios\": {" + ratio_list + "\n  },\n  \"aa\": {" + aa_list + "\n  },\n  \"figures\": {" + details +
         "\n  },\n  \"absolute\": {" + absolute + "\n  },\n  \"machine\": {" + machine + "\n  }\n}\n";
}

}  // namespace shm::bench
