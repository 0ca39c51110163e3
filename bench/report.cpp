#include "report.hpp"

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

void Report::figure(const std::string& name, const Samples& shmd, const Samples& reference, const std::string& unit,
                    double goal, const std::string& note) {
  figures_.push_back({name, shmd, reference, unit, goal, note});
}

void Report::absolute(const std::string& name, double value, const std::string& unit, std::optional<double> goal,
                      bool at_least, const std::string& note) {
  absolutes_.push_back({name, value, unit, goal, at_least, note});
}

void Report::machine(const std::string& key, const std::string& value) { machine_.emplace_back(key, json_string(value)); }

void Report::machine(const std::string& key, double value) { machine_.emplace_back(key, number(value)); }

std::string Report::json() const {
  std::string ratios, details, absolute, machine;
  for (const auto& f : figures_) {
    const double shmd = median(f.shmd);
    const double reference = median(f.reference);
    const double ratio = shmd / reference;
    const std::string sep = ratios.empty() ? "\n    " : ",\n    ";
    ratios += sep + json_string(f.name) + ": " + number(ratio);
    details += sep + json_string(f.name) + ": {\"shmd\": " + number(shmd) + ", \"reference\": " + number(reference) +
               ", \"unit\": " + json_string(f.unit) + ", \"ratio\": " + number(ratio) +
               ", \"goal\": " + number(f.goal) + ", \"met\": " + boolean(ratio <= f.goal) +
               ", \"shmd_samples\": " + numbers(f.shmd) + ", \"reference_samples\": " + numbers(f.reference) +
               ", \"note\": " + json_string(f.note) + "}";
  }
  for (const auto& a : absolutes_) {
    const std::string sep = absolute.empty() ? "\n    " : ",\n    ";
    absolute += sep + json_string(a.name) + ": {\"value\": " + number(a.value) + ", \"unit\": " + json_string(a.unit);
    if (a.goal) {
      const bool met = a.at_least ? a.value >= *a.goal : a.value <= *a.goal;
      absolute += ", \"goal\": " + number(*a.goal) + ", \"goal_is\": " + json_string(a.at_least ? "at_least" : "at_most") +
                  ", \"met\": " + boolean(met);
    }
    absolute += ", \"note\": " + json_string(a.note) + "}";
  }
  for (const auto& [key, value] : machine_) machine += (machine.empty() ? "\n    " : ",\n    ") + json_string(key) + ": " + value;
  return "{\n  \"ratios\": {" + ratios + "\n  },\n  \"figures\": {" + details + "\n  },\n  \"absolute\": {" + absolute +
         "\n  },\n  \"machine\": {" + machine + "\n  }\n}\n";
}

}  // namespace shm::bench
