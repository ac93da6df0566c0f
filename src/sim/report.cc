#include "sim/report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cohost::sim {
namespace {

std::string Fmt(const char* format, double v) {
  char buf[64];
  snprintf(buf, sizeof(buf), format, v);
  return buf;
}

// 1234567.891 -> "1,234,567.89"
std::string Money(double v) {
  std::string s = Fmt("%.2f", v);
  size_t dot = s.find('.');
  for (int i = static_cast<int>(dot) - 3; i > (s[0] == '-' ? 1 : 0); i -= 3) s.insert(i, ",");
  return s;
}

const StrategyResult* Find(const SimulationReport& r, StrategyKind kind) {
  for (const auto& s : r.results) {
    if (s.kind == kind) return &s;
  }
  return nullptr;
}

const char* kColors[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

}  // namespace

std::string RenderText(const SimulationReport& r) {
  std::ostringstream o;
  o << "scenario " << r.scenario << ": seed " << r.seed << ", " << r.requests << " requests, "
    << r.models << " models, " << Fmt("%.1f", r.duration_s / 3600) << " h simulated in "
    << Fmt("%.2f", r.total_wall_s) << " s\n\n";
  char line[512];
  snprintf(line, sizeof(line), "%-22s %10s %12s %8s %8s %8s %9s %9s %9s %9s %8s %8s %7s %6s %6s %6s\n",
           "strategy", "dev-hours", "cost", "SLO", "TTFT-ok", "ITL-ok", "TTFT p50", "TTFT p99",
           "ITL p50", "ITL p99", "held", "rejected", "cold", "mem", "comp", "copies");
  o << line;
  for (const auto& s : r.results) {
    snprintf(line, sizeof(line),
             "%-22s %10.2f %12s %7.2f%% %7.2f%% %7.2f%% %8.3fs %8.3fs %8.4fs %8.4fs %8lld %8lld %7lld "
             "%5.1f%% %5.1f%% %6d\n",
             StrategyName(s.kind), s.device_hours, Money(s.cost).c_str(), 100 * s.slo_attainment,
             100 * s.ttft_attainment, 100 * s.itl_attainment, s.ttft_p50_s, s.ttft_p99_s,
             s.itl_p50_s, s.itl_p99_s, static_cast<long long>(s.held),
             static_cast<long long>(s.rejected), static_cast<long long>(s.cold_starts),
             100 * s.mean_memory_util, 100 * s.mean_compute_util, s.peak_copies);
    o << line;
  }
  o << "\n(SLO: share of all requests meeting both TTFT and ITL targets; mem/comp: mean "
       "utilisation of billed devices; copies: peak)\n";
  const StrategyResult* base = Find(r, StrategyKind::kDedicated);
  o << "\nlower bound (total work / device capacity): " << Fmt("%.2f", r.lower_bound.device_hours)
    << " device-hours, cost " << Money(r.lower_bound.cost) << "\n\n";
  snprintf(line, sizeof(line), "%-22s %16s %16s %11s %10s %9s\n", "strategy",
           "dedicated/this", "this/lower bound", "peak nodes", "refusals", "evictions");
  o << line;
  for (const auto& s : r.results) {
    std::string ratio = base && s.cost > 0 ? Fmt("%.2fx", base->cost / s.cost) : "-";
    std::string gap = r.lower_bound.cost > 0 ? Fmt("%.2fx", s.cost / r.lower_bound.cost) : "-";
    snprintf(line, sizeof(line), "%-22s %16s %16s %11d %10lld %9lld\n", StrategyName(s.kind),
             ratio.c_str(), gap.c_str(), s.peak_nodes, static_cast<long long>(s.placement_refusals),
             static_cast<long long>(s.evictions));
    o << line;
  }
  o << "\nlowest SLO attainment by model:\n";
  for (const auto& s : r.results) {
    std::vector<size_t> order(s.models.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return s.models[a].slo_attainment < s.models[b].slo_attainment;
    });
    o << "  " << StrategyName(s.kind) << ":";
    for (size_t k = 0; k < std::min<size_t>(3, order.size()); ++k) {
      const ModelResult& m = s.models[order[k]];
      std::string name = order[k] < r.model_names.size() ? r.model_names[order[k]] : "?";
      o << " " << name << " " << Fmt("%.2f%%", 100 * m.slo_attainment) << " (" << m.cold_starts
        << " cold starts, peak " << m.peak_copies << " copies)" << (k + 1 < std::min<size_t>(3, order.size()) ? "," : "");
    }
    o << "\n";
  }
  for (const auto& s : r.results) {
    if (!s.scaler.empty()) {
      o << "\nautoscaling decisions: " << s.scaler << "\n";
      break;
    }
  }
  return o.str();
}

nlohmann::json RenderJson(const SimulationReport& r) {
  nlohmann::json out = {{"scenario", r.scenario},
                        {"seed", r.seed},
                        {"requests", r.requests},
                        {"models", r.models},
                        {"duration_s", r.duration_s},
                        {"wall_s", r.total_wall_s},
                        {"lower_bound", {{"device_hours", r.lower_bound.device_hours},
                                         {"cost", r.lower_bound.cost}}}};
  const StrategyResult* base = Find(r, StrategyKind::kDedicated);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : r.results) {
    nlohmann::json samples = nlohmann::json::array();
    for (size_t i = 0; i < s.samples.size(); ++i) {
      const Sample& x = s.samples[i];
      samples.push_back({{"t_s", x.t_s}, {"copies", x.copies}, {"ready_copies", x.ready_copies},
                         {"nodes", x.nodes}, {"memory_util", x.memory_util},
                         {"compute_util", x.compute_util}, {"model_copies", s.model_copies[i]}});
    }
    nlohmann::json j = {
        {"strategy", StrategyName(s.kind)}, {"device_hours", s.device_hours}, {"cost", s.cost},
        {"requests", s.requests}, {"completed", s.completed}, {"rejected", s.rejected},
        {"held", s.held}, {"cold_starts", s.cold_starts},
        {"placement_refusals", s.placement_refusals}, {"evictions", s.evictions},
        {"reclaims", s.reclaims},
        {"slo_attainment", s.slo_attainment}, {"ttft_attainment", s.ttft_attainment},
        {"itl_attainment", s.itl_attainment},
        {"latency_s", {{"ttft_p50", s.ttft_p50_s}, {"ttft_p99", s.ttft_p99_s},
                       {"itl_p50", s.itl_p50_s}, {"itl_p99", s.itl_p99_s},
                       {"e2e_p50", s.e2e_p50_s}, {"e2e_p90", s.e2e_p90_s},
                       {"e2e_p99", s.e2e_p99_s}}},
        {"mean_memory_util", s.mean_memory_util}, {"mean_compute_util", s.mean_compute_util},
        {"peak_copies", s.peak_copies}, {"peak_nodes", s.peak_nodes},
        {"cost_ratio_vs_dedicated", base && s.cost > 0 ? base->cost / s.cost : 0.0},
        {"cost_vs_lower_bound", r.lower_bound.cost > 0 ? s.cost / r.lower_bound.cost : 0.0},
        {"scaler", s.scaler}, {"wall_s", s.wall_s}, {"samples", samples}};
    nlohmann::json models = nlohmann::json::array();
    for (size_t i = 0; i < s.models.size(); ++i) {
      const ModelResult& m = s.models[i];
      models.push_back({{"model", i < r.model_names.size() ? r.model_names[i] : ""},
                        {"requests", m.requests}, {"rejected", m.rejected}, {"held", m.held},
                        {"cold_starts", m.cold_starts}, {"slo_attainment", m.slo_attainment},
                        {"peak_copies", m.peak_copies}});
    }
    j["models"] = models;
    list.push_back(j);
  }
  out["strategies"] = list;
  return out;
}

namespace {

// One line chart: x = hours, one polyline per series.
std::string LineChart(const std::string& title, const std::string& y_label,
                      const std::vector<std::string>& names,
                      const std::vector<std::vector<std::pair<double, double>>>& series,
                      double y_max) {
  const double w = 800, h = 400, left = 60, right = 200, top = 40, bottom = 50;
  double x_max = 1e-9;
  for (const auto& s : series) {
    for (const auto& p : s) x_max = std::max(x_max, p.first);
  }
  y_max = std::max(y_max, 1e-9);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << left << "\" y=\"24\" font-size=\"16\">" << title << "</text>\n";
  double pw = w - left - right, ph = h - top - bottom;
  o << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"#888\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    double y = top + ph - ph * i / 4;
    o << "<text x=\"" << left - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">"
      << Fmt(y_max >= 10 ? "%.0f" : "%.2f", y_max * i / 4) << "</text>\n";
    double x = left + pw * i / 4;
    o << "<text x=\"" << x << "\" y=\"" << top + ph + 18 << "\" text-anchor=\"middle\">"
      << Fmt("%.1f", x_max * i / 4) << "</text>\n";
  }
  o << "<text x=\"" << left + pw / 2 << "\" y=\"" << h - 10 << "\" text-anchor=\"middle\">hours</text>\n"
    << "<text x=\"14\" y=\"" << top + ph / 2 << "\" transform=\"rotate(-90 14 " << top + ph / 2
    << ")\" text-anchor=\"middle\">" << y_label << "</text>\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const char* color = kColors[k % 6];
    o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\"";
    for (const auto& p : series[k]) {
      o << Fmt("%.1f", left + pw * p.first / x_max) << "," << Fmt("%.1f", top + ph - ph * p.second / y_max) << " ";
    }
    o << "\"/>\n<text x=\"" << left + pw + 10 << "\" y=\"" << top + 16 + 18 * k << "\" fill=\"" << color
      << "\">" << names[k] << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

std::string BarChart(const SimulationReport& r) {
  const double w = 800, h = 400, left = 180, top = 40, bar = 40;
  double max_cost = 1e-9;
  for (const auto& s : r.results) max_cost = std::max(max_cost, s.cost);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"20\" y=\"24\" font-size=\"16\">cost per strategy (" << r.scenario << ")</text>\n";
  double y = top;
  for (size_t k = 0; k < r.results.size(); ++k) {
    const auto& s = r.results[k];
    double len = (w - left - 140) * s.cost / max_cost;
    o << "<text x=\"" << left - 8 << "\" y=\"" << y + bar / 2 + 4 << "\" text-anchor=\"end\">"
      << StrategyName(s.kind) << "</text>\n<rect x=\"" << left << "\" y=\"" << y << "\" width=\""
      << Fmt("%.1f", len) << "\" height=\"" << bar << "\" fill=\"" << kColors[k % 6] << "\"/>\n"
      << "<text x=\"" << left + len + 6 << "\" y=\"" << y + bar / 2 + 4 << "\">" << Money(s.cost)
      << "</text>\n";
    y += bar + 16;
  }
  double lb = (w - left - 140) * r.lower_bound.cost / max_cost;
  o << "<line x1=\"" << left + lb << "\" y1=\"" << top - 6 << "\" x2=\"" << left + lb << "\" y2=\""
    << y << "\" stroke=\"black\" stroke-dasharray=\"4 3\"/>\n<text x=\"" << left + lb + 4
    << "\" y=\"" << y + 12 << "\">lower bound " << Money(r.lower_bound.cost) << "</text>\n</svg>\n";
  return o.str();
}

Status WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) return Internal("cannot write " + path.string());
  return Status::Ok();
}

}  // namespace

Status WriteSvgCharts(const SimulationReport& r, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir + ": " + ec.message());
  std::vector<std::string> names, util_names;
  std::vector<std::vector<std::pair<double, double>>> copies, util;
  double max_copies = 0;
  for (const auto& s : r.results) {
    names.push_back(StrategyName(s.kind));
    util_names.push_back(std::string(StrategyName(s.kind)) + " mem");
    util_names.push_back(std::string(StrategyName(s.kind)) + " compute");
    std::vector<std::pair<double, double>> c, m, u;
    for (const Sample& x : s.samples) {
      c.emplace_back(x.t_s / 3600, x.copies);
      m.emplace_back(x.t_s / 3600, 100 * x.memory_util);
      u.emplace_back(x.t_s / 3600, 100 * x.compute_util);
      max_copies = std::max<double>(max_copies, x.copies);
    }
    copies.push_back(std::move(c));
    util.push_back(std::move(m));
    util.push_back(std::move(u));
  }
  std::filesystem::path d(dir);
  RETURN_IF_ERROR(WriteFile(d / "copies.svg", LineChart("copies over time", "copies", names, copies,
                                                        max_copies * 1.05)));
  RETURN_IF_ERROR(WriteFile(d / "utilisation.svg",
                            LineChart("device utilisation over time", "percent", util_names, util, 100)));
  return WriteFile(d / "cost.svg", BarChart(r));
}

}  // namespace cohost::sim
