#include "core/metrics.h"

#include <algorithm>
#include <cmath>
#include <charconv>
#include <cstdlib>

namespace cohost {
namespace {

void AtomicAdd(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[40];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back
  return std::string(buf, end);
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string LabelText(const Labels& labels, const char* extra_key = nullptr,
                      const std::string& extra_value = {}) {
  std::string s;
  for (const auto& [k, v] : labels) s += (s.empty() ? "" : ",") + k + "=\"" + Escape(v) + "\"";
  if (extra_key) s += (s.empty() ? "" : ",") + std::string(extra_key) + "=\"" + extra_value + "\"";
  return s.empty() ? "" : "{" + s + "}";
}

bool Includes(const Labels& labels, const Labels& match) {
  for (const auto& m : match)
    if (std::find(labels.begin(), labels.end(), m) == labels.end()) return false;
  return true;
}

const char* TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

Series::Series(const std::vector<double>* bounds) : bounds_(bounds) {
  if (!bounds_->empty()) {
    buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_->size());
    for (size_t i = 0; i < bounds_->size(); ++i) buckets_[i].store(0);
  }
}

void Series::Add(double v) { AtomicAdd(value_, v); }
void Series::Set(double v) { value_.store(v, std::memory_order_relaxed); }

void Series::Observe(double v) {
  for (size_t i = 0; i < bounds_->size(); ++i)
    if (v <= (*bounds_)[i]) buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
}

void MetricsRegistry::Declare(const std::string& name, MetricType type, const std::string& help,
                              std::vector<double> bounds) {
  std::lock_guard<std::mutex> l(mu_);
  auto [it, inserted] = families_.try_emplace(name);
  if (!inserted) {
    if (it->second.type != type) std::abort();  // a broken invariant: two types for one name
    return;
  }
  it->second.type = type;
  it->second.help = help;
  if (type == MetricType::kHistogram) it->second.bounds = std::move(bounds);
}

Series& MetricsRegistry::Get(const std::string& name, const Labels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) std::abort();  // REQUIRES: declared
  auto& slot = it->second.series[labels];
  if (!slot) slot = std::make_unique<Series>(&it->second.bounds);
  return *slot;
}

double MetricsRegistry::Value(const std::string& name, const Labels& labels) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto s = it->second.series.find(labels);
  return s == it->second.series.end() ? 0 : s->second->value();
}

double MetricsRegistry::Sum(const std::string& name, const Labels& match) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  double total = 0;
  for (const auto& [labels, s] : it->second.series)
    if (Includes(labels, match)) total += s->value();
  return total;
}

void MetricsRegistry::Remove(const std::string& name, const Labels& match) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return;
  std::erase_if(it->second.series, [&](const auto& kv) { return Includes(kv.first, match); });
}

std::string MetricsRegistry::Exposition() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + TypeName(f.type) + "\n";
    for (const auto& [labels, s] : f.series) {
      if (f.type != MetricType::kHistogram) {
        out += name + LabelText(labels) + " " + Number(s->value()) + "\n";
        continue;
      }
      for (size_t i = 0; i < f.bounds.size(); ++i)
        out += name + "_bucket" + LabelText(labels, "le", Number(f.bounds[i])) + " " +
               std::to_string(s->bucket(i)) + "\n";
      out += name + "_bucket" + LabelText(labels, "le", "+Inf") + " " + std::to_string(s->count()) + "\n";
      out += name + "_sum" + LabelText(labels) + " " + Number(s->sum()) + "\n";
      out += name + "_count" + LabelText(labels) + " " + std::to_string(s->count()) + "\n";
    }
  }
  return out;
}

std::vector<double> MetricsRegistry::LatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace cohost
