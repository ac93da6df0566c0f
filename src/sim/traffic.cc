#include "sim/traffic.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

namespace cohost::sim {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Uniform in [0, 1) from 53 random bits: the same on every standard library (unlike
// std::uniform_real_distribution), so a seed means the same traffic everywhere.
double Uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
double Exponential(std::mt19937_64& rng, double rate) { return -std::log1p(-Uniform(rng)) / rate; }
int32_t Tokens(std::mt19937_64& rng, int mean) {
  double v = mean * (0.5 + Uniform(rng));
  return std::max<int32_t>(1, static_cast<int32_t>(std::lround(v)));
}

// The rate at time t, relative to the mean (mean over a day or a burst cycle is 1).
double RelativeRate(const ModelTraffic& t, double time_s) {
  switch (t.pattern) {
    case TrafficPattern::kPoisson: return 1;
    case TrafficPattern::kBursty: {
      double cycle = t.on_s + t.off_s;
      double phase = std::fmod(time_s, cycle);
      if (phase < t.on_s) return t.burst_factor;
      return (cycle - t.burst_factor * t.on_s) / t.off_s;
    }
    case TrafficPattern::kDiurnal: {
      double hours = time_s / 3600;
      return 1 + t.amplitude * std::cos(2 * kPi * (hours - t.peak_hour) / 24);
    }
  }
  return 1;
}

double MaxRelativeRate(const ModelTraffic& t) {
  switch (t.pattern) {
    case TrafficPattern::kPoisson: return 1;
    case TrafficPattern::kBursty:
      return std::max(t.burst_factor, (t.on_s + t.off_s - t.burst_factor * t.on_s) / t.off_s);
    case TrafficPattern::kDiurnal: return 1 + t.amplitude;
  }
  return 1;
}

// Non-homogeneous Poisson arrivals by thinning against the pattern's highest rate.
void GenerateModel(const Scenario& s, int index, double rate, std::vector<Request>* out) {
  if (rate <= 0) return;
  const ModelSpec& m = s.models[index];
  std::mt19937_64 rng(s.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(index) + 1);
  double peak = rate * MaxRelativeRate(m.traffic);
  double t = 0;
  while (true) {
    t += Exponential(rng, peak);
    if (t >= s.duration_s) break;
    double keep = rate * RelativeRate(m.traffic, t) / peak;
    if (Uniform(rng) >= keep) continue;
    out->push_back({t, index, Tokens(rng, m.traffic.prompt_tokens),
                    Tokens(rng, m.traffic.output_tokens)});
  }
}

void SortRequests(std::vector<Request>* r) {
  std::stable_sort(r->begin(), r->end(), [](const Request& a, const Request& b) {
    return a.arrival_s != b.arrival_s ? a.arrival_s < b.arrival_s : a.model < b.model;
  });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<double> ModelRates(const Scenario& s) {
  std::vector<double> rates(s.models.size(), 0);
  double weight_sum = 0;
  int rank = 0;
  std::vector<double> weights(s.models.size(), 0);
  for (size_t i = 0; i < s.models.size(); ++i) {
    if (s.models[i].traffic.rate_per_s >= 0) {
      rates[i] = s.models[i].traffic.rate_per_s;
    } else {
      weights[i] = 1.0 / std::pow(++rank, s.zipf_s);
      weight_sum += weights[i];
    }
  }
  for (size_t i = 0; i < s.models.size(); ++i) {
    if (weights[i] > 0) rates[i] = s.total_rate_per_s * weights[i] / weight_sum;
  }
  return rates;
}

std::vector<Request> GenerateTraffic(const Scenario& s) {
  std::vector<double> rates = ModelRates(s);
  std::vector<Request> out;
  double expected = 0;
  for (double r : rates) expected += r * s.duration_s;
  out.reserve(static_cast<size_t>(expected * 1.05) + 16);
  for (size_t i = 0; i < s.models.size(); ++i) GenerateModel(s, static_cast<int>(i), rates[i], &out);
  SortRequests(&out);
  return out;
}

StatusOr<std::vector<Request>> ParseTrace(std::string_view csv, const Scenario& s,
                                          std::string_view source) {
  std::vector<Request> out;
  int line_no = 0;
  size_t pos = 0;
  while (pos <= csv.size()) {
    size_t end = csv.find('\n', pos);
    if (end == std::string_view::npos) end = csv.size();
    std::string_view line = Trim(csv.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    if (line_no == 1 && line.substr(0, 9) == "timestamp") continue;
    std::string_view cols[4];
    int n = 0;
    size_t p = 0;
    bool more = true;  // a comma followed the last column read
    while (n < 4 && more) {
      size_t c = line.find(',', p);
      cols[n++] = Trim(line.substr(p, c == std::string_view::npos ? std::string_view::npos : c - p));
      more = c != std::string_view::npos;
      p = c + 1;
    }
    std::string at = std::string(source) + " line " + std::to_string(line_no);
    if (n != 4 || more) {
      return InvalidArgument(at, at + ": expected 4 columns: timestamp_s,model,prompt_tokens,output_tokens");
    }
    Request r;
    double ts = 0;
    auto [tp, tec] = std::from_chars(cols[0].data(), cols[0].data() + cols[0].size(), ts);
    if (tec != std::errc() || tp != cols[0].data() + cols[0].size() || !std::isfinite(ts) || ts < 0) {
      return InvalidArgument(at + ": timestamp", at + ": timestamp must be seconds >= 0, got '" +
                                                     std::string(cols[0]) + "'");
    }
    r.arrival_s = ts;
    int m = s.FindModel(cols[1]);
    if (m < 0) {
      return InvalidArgument(at + ": model", at + ": model '" + std::string(cols[1]) +
                                                 "' is not in the scenario");
    }
    r.model = m;
    const char* names[2] = {"prompt_tokens", "output_tokens"};
    int32_t* fields[2] = {&r.prompt_tokens, &r.output_tokens};
    for (int k = 0; k < 2; ++k) {
      std::string_view v = cols[2 + k];
      auto [vp, vec] = std::from_chars(v.data(), v.data() + v.size(), *fields[k]);
      if (vec != std::errc() || vp != v.data() + v.size() || *fields[k] < 1) {
        return InvalidArgument(at + ": " + names[k], at + ": " + names[k] +
                                                         " must be an integer >= 1, got '" +
                                                         std::string(v) + "'");
      }
    }
    out.push_back(r);
  }
  SortRequests(&out);
  return out;
}

StatusOr<std::vector<Request>> LoadTrace(const Scenario& s) {
  std::ifstream in(s.trace_path);
  if (!in) return NotFound("cannot read trace file " + s.trace_path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseTrace(ss.str(), s, s.trace_path);
}

StatusOr<std::vector<Request>> ScenarioTraffic(const Scenario& s) {
  if (!s.trace_path.empty()) return LoadTrace(s);
  return GenerateTraffic(s);
}

}  // namespace cohost::sim
