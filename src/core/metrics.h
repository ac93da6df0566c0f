// Metrics: counters, gauges and histograms with labels, exposed in the Prometheus text format
// (version 0.0.4). One registry per process; the router and the node controller write to it, the
// autoscaler reads the same series (no second bookkeeping), and GET /metrics prints it.
//
// A family is a name, a help line, a type and, for histograms, bucket bounds. A series is one
// family with one set of label values. Series are created on first use and live as long as the
// registry (Remove() drops one, e.g. a stopped copy's).
//
// Thread safety: every method may be called from any thread. A returned Series reference stays
// valid until the series is removed; updating it takes no lock (atomics).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace cohost {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

// One series' value. Counters only Add() non-negative amounts; gauges Set() or Add();
// histograms Observe().
class Series {
 public:
  explicit Series(const std::vector<double>* bounds);
  void Add(double v);
  void Set(double v);
  void Observe(double v);
  double value() const { return value_.load(std::memory_order_relaxed); }
  // Histograms: observations and their sum.
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  // Histograms: cumulative count of observations <= bounds[i].
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }

 private:
  const std::vector<double>* bounds_;  // owned by the family; empty for counters and gauges
  std::atomic<double> value_{0};
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
};

class MetricsRegistry {
 public:
  // Declares a family (again: no-op). REQUIRES: a name and type that fit Prometheus
  // ([a-zA-Z_:][a-zA-Z0-9_:]*), the same type each time. Histograms need ascending bounds.
  void Declare(const std::string& name, MetricType type, const std::string& help,
               std::vector<double> bounds = {});

  // The series of a declared family with these labels (created at zero on first use).
  // REQUIRES: Declare(name) before.
  Series& Get(const std::string& name, const Labels& labels = {});
  // The series' value if it exists, else 0 (does not create it).
  double Value(const std::string& name, const Labels& labels = {}) const;
  // Sum of the values of every series of `name` whose labels include `match`.
  double Sum(const std::string& name, const Labels& match = {}) const;
  // Drops series of `name` whose labels include `match`.
  void Remove(const std::string& name, const Labels& match);

  // The Prometheus text exposition of every family, sorted by name, series sorted by labels.
  std::string Exposition() const;

  // Default latency buckets in seconds: 5 ms .. 60 s.
  static std::vector<double> LatencyBuckets();

 private:
  struct Family {
    MetricType type = MetricType::kGauge;
    std::string help;
    std::vector<double> bounds;
    std::map<Labels, std::unique_ptr<Series>> series;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // guarded by mu_
};

}  // namespace cohost
