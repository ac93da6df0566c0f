#include "profile/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace cohost::profile {
namespace {

using nlohmann::json;

std::string F(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

double Mib(double bytes) { return bytes / (1024.0 * 1024.0); }

std::string Pad(const std::string& s, size_t w, bool right = true) {
  if (s.size() >= w) return s;
  return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

// The first column is left-aligned, the others right-aligned; the last one left-aligned too when
// it is free text (a verdict, a note).
std::string Row(const std::vector<std::string>& cells, const std::vector<size_t>& widths, bool text_last = true) {
  std::string out = " ";
  for (size_t i = 0; i < cells.size(); ++i) {
    out += " " + Pad(cells[i], widths[i], i != 0 && (!text_last || i + 1 != cells.size()));
  }
  return out + "\n";
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

}  // namespace

std::string RenderTable(const ProfileReport& r) {
  std::ostringstream o;
  const auto& m = r.memory;
  o << "cohost profile " << r.options.model_path << "  (" << F("%.1f", m.n_params / 1e6) << "M parameters)\n\n";
  o << "Memory (llama.cpp dry run; context " << m.context << " tokens per slot)\n";
  o << "  weights " << F("%.1f", Mib(m.weights_bytes)) << " MiB; KV cache " << F("%.1f", m.kv_bytes_per_token / 1024)
    << " KiB per token\n";
  std::vector<size_t> mw{6, 12, 12, 12, 12};
  o << Row({"slots", "weights MiB", "KV MiB", "compute MiB", "total MiB"}, mw, false);
  for (const auto& s : m.by_slots) {
    o << Row({std::to_string(s.slots), F("%.1f", Mib(s.breakdown.weights_bytes)), F("%.1f", Mib(s.breakdown.kv_bytes)),
              F("%.1f", Mib(s.breakdown.compute_bytes)), std::to_string(s.breakdown.total_mib())},
             mw, false);
  }
  o << "\nMeasured on " << r.device.name << " (prompt " << r.prompt_tokens_measured << " tokens, "
    << r.options.output_tokens << " generated per request)\n";
  std::vector<size_t> sw{5, 10, 10, 9, 9, 9, 7, 0};
  o << Row({"conc", "TTFT p50", "TTFT p99", "ITL p50", "ITL p99", "tok/s", "req/s", "verdict"}, sw);
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    std::string verdict = s.verdict + (r.best && *r.best == i ? "  <- best" : "");
    o << Row({std::to_string(s.concurrency), F("%.1f", s.load.ttft_ms.p50), F("%.1f", s.load.ttft_ms.p99),
              F("%.2f", s.load.itl_ms.p50), F("%.2f", s.load.itl_ms.p99), F("%.1f", s.load.decode_tokens_per_s),
              F("%.2f", s.load.requests_per_s), verdict},
             sw);
  }
  o << "  (latencies in ms; objective:";
  if (r.options.slo.ttft_ms > 0) o << " TTFT " << (r.options.slo.use_p50 ? "p50" : "p99") << " <= " << r.options.slo.ttft_ms << " ms";
  if (r.options.slo.itl_ms > 0) o << " ITL " << (r.options.slo.use_p50 ? "p50" : "p99") << " <= " << r.options.slo.itl_ms << " ms";
  if (!r.options.slo.any()) o << " none";
  o << "; sweep stopped: " << SweepStopName(r.stop) << ")\n";
  o << "  efficiency " << F("%.2f", r.efficiency) << " = roofline ITL " << F("%.2f", r.roofline_itl_ms)
    << " ms / measured ITL p50 at concurrency 1 (" << r.device.figures_source << ": "
    << F("%.1f", r.device.bandwidth_gbs) << " GB/s)\n";

  o << "\nProjected per device type (roofline x efficiency " << F("%.2f", r.efficiency) << "; catalog "
    << r.catalog_path << ", as of " << r.catalog.as_of << (r.catalog.note.empty() ? "" : ": " + r.catalog.note) << ")\n";
  std::vector<size_t> pw{8, 5, 7, 8, 8, 10, 8, 8, 8, 9, 0};
  const bool rate = r.options.rate_rps > 0;
  o << Row({"device", "fits", "copies", "slots", "ITL ms", "tok/s", "req/s", rate ? "devices" : "-", "USD/h",
            "USD/Mtok", "note"},
           pw);
  for (const auto& p : r.projections) {
    if (!p.fits) {
      o << Row({p.device.id, "no", "-", "-", "-", "-", "-", "-", "-", "-", p.note}, pw);
      continue;
    }
    o << Row({p.device.id, "yes", std::to_string(p.max_copies_per_device), std::to_string(p.slots_per_copy), F("%.2f", p.itl_ms), F("%.0f", p.tokens_per_s),
              F("%.2f", p.requests_per_s), rate ? (p.serves_rate ? std::to_string(p.devices_for_rate) : "-") : "-",
              F("%.2f", p.cost_per_hour), p.cost_per_million_tokens > 0 ? F("%.3f", p.cost_per_million_tokens) : "-",
              p.note},
             pw);
  }
  o << "  (copies: of the recommended spec that fit one device; slots: of one projected copy per device, "
       "as memory and the ITL objective allow; " << (rate ? "cost at the target rate of " + F("%g", r.options.rate_rps) + " req/s" : "cost at full use of one device") << ")\n";

  const auto& rec = r.recommendation;
  o << "\nRecommendation (" << (rec.meets_slo ? "meets the objective as measured" : "does NOT meet the objective") << "): "
    << rec.parallel << " slots per copy, autoscaling target " << rec.target_concurrency << " concurrent requests per copy, "
    << rec.memory_mib << " MiB per copy";
  if (rec.copies_for_rate > 0) o << ", " << rec.copies_for_rate << " copies for " << r.options.rate_rps << " req/s on the device at hand";
  if (!rec.cpu_cores_basis.empty()) o << "; cpu_cores " << F("%g", rec.cpu_cores) << ": " << rec.cpu_cores_basis;
  o << "\n" << rec.spec.dump(2) << "\n";
  for (const auto& w : r.warnings) o << "\nwarning: " << w << "\n";
  return o.str();
}

json ReportJson(const ProfileReport& r) {
  json slots = json::array();
  for (const auto& s : r.memory.by_slots) {
    slots.push_back({{"slots", s.slots}, {"weights_bytes", s.breakdown.weights_bytes}, {"kv_bytes", s.breakdown.kv_bytes},
                     {"compute_bytes", s.breakdown.compute_bytes}, {"total_bytes", s.breakdown.total()},
                     {"total_mib", s.breakdown.total_mib()}});
  }
  json steps = json::array();
  for (size_t i = 0; i < r.steps.size(); ++i) {
    json s = r.steps[i].load.ToJson();
    s["concurrency"] = r.steps[i].concurrency;
    s["meets_slo"] = r.steps[i].meets_slo;
    s["verdict"] = r.steps[i].verdict;
    s["best"] = r.best && *r.best == i;
    steps.push_back(s);
  }
  json projections = json::array();
  for (const auto& p : r.projections) {
    projections.push_back({{"kind", "projected"}, {"device", p.device.id}, {"name", p.device.name},
                           {"memory_gib", p.device.memory_gib}, {"price_per_hour_usd", p.device.price_per_hour},
                           {"fits", p.fits}, {"max_copies_per_device", p.max_copies_per_device},
                           {"slots_per_copy", p.slots_per_copy},
                           {"meets_slo", p.meets_slo}, {"itl_ms", p.itl_ms}, {"tokens_per_s", p.tokens_per_s},
                           {"requests_per_s", p.requests_per_s}, {"devices_for_rate", p.devices_for_rate},
                           {"serves_rate", p.serves_rate}, {"cost_per_hour_usd", p.cost_per_hour},
                           {"cost_per_million_tokens_usd", p.cost_per_million_tokens}, {"note", p.note}});
  }
  const auto& rec = r.recommendation;
  return {
      {"model", r.options.model_path},
      {"parameters", r.memory.n_params},
      {"memory", {{"kind", "dry_run"}, {"context", r.memory.context}, {"weights_bytes", r.memory.weights_bytes},
                  {"kv_bytes_per_token", r.memory.kv_bytes_per_token}, {"by_slots", slots}}},
      {"workload", {{"prompt_tokens", r.prompt_tokens_measured}, {"output_tokens", r.options.output_tokens},
                    {"rate_rps", r.options.rate_rps}}},
      {"slo", {{"ttft_ms", r.options.slo.ttft_ms}, {"itl_ms", r.options.slo.itl_ms},
               {"quantile", r.options.slo.use_p50 ? "p50" : "p99"}}},
      {"measured", {{"kind", "measured"}, {"device", r.device.name}, {"steps", steps},
                    {"stop", SweepStopName(r.stop)}, {"best_concurrency", r.best ? json(r.steps[*r.best].concurrency) : json(nullptr)},
                    {"roofline_itl_ms", r.roofline_itl_ms}, {"efficiency", r.efficiency},
                    {"bandwidth_gbs", r.device.bandwidth_gbs}, {"figures_source", r.device.figures_source}}},
      {"catalog", {{"path", r.catalog_path}, {"as_of", r.catalog.as_of}, {"note", r.catalog.note}}},
      {"projected", projections},
      {"recommendation", {{"meets_slo", rec.meets_slo}, {"parallel", rec.parallel},
                          {"target_concurrency", rec.target_concurrency}, {"memory_mib", rec.memory_mib},
                          {"accelerators", rec.accelerators}, {"cpu_cores", rec.cpu_cores},
                          {"cpu_cores_basis", rec.cpu_cores_basis},
                          {"copies_for_rate", rec.copies_for_rate}, {"spec", rec.spec}}},
      {"warnings", r.warnings},
  };
}

std::string RenderSvg(const ProfileReport& r) {
  const int pw = 360, ph = 260, margin = 50, W = 3 * pw + 40, H = ph + 90;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"10\" y=\"18\" font-size=\"14\">cohost profile: " << Escape(r.options.model_path)
    << " - measured on " << Escape(r.device.name) << "</text>\n";
  double max_c = 1;
  for (const auto& st : r.steps) max_c = std::max(max_c, static_cast<double>(st.concurrency));
  // x: log2 of concurrency.
  const double lx = std::max(1.0, std::log2(max_c));
  auto panel = [&](int idx, const std::string& title, const std::string& ylabel) {
    const int x0 = 10 + idx * (pw + 10) + margin, y0 = 40;
    s << "<text x=\"" << x0 << "\" y=\"" << y0 - 6 << "\" font-weight=\"bold\">" << Escape(title) << "</text>\n";
    s << "<rect x=\"" << x0 << "\" y=\"" << y0 << "\" width=\"" << pw - margin - 10 << "\" height=\"" << ph - 40
      << "\" fill=\"none\" stroke=\"#888\"/>\n";
    s << "<text x=\"" << x0 - 44 << "\" y=\"" << y0 + (ph - 40) / 2 << "\" transform=\"rotate(-90 " << x0 - 44 << ","
      << y0 + (ph - 40) / 2 << ")\" text-anchor=\"middle\">" << Escape(ylabel) << "</text>\n";
    return std::pair{x0, y0};
  };
  const int iw = pw - margin - 10, ih = ph - 40;
  auto xpos = [&](int x0, double c) { return x0 + (max_c <= 1 ? iw / 2.0 : std::log2(c) / lx * iw); };
  auto xaxis = [&](int x0, int y0) {
    for (const auto& st : r.steps) {
      s << "<text x=\"" << xpos(x0, st.concurrency) << "\" y=\"" << y0 + ih + 14 << "\" text-anchor=\"middle\">"
        << st.concurrency << "</text>\n";
    }
    s << "<text x=\"" << x0 + iw / 2 << "\" y=\"" << y0 + ih + 28 << "\" text-anchor=\"middle\">concurrency (measured)</text>\n";
  };
  auto line = [&](int x0, int y0, double ymax, const std::vector<double>& ys, const char* color, const std::string& label, int li) {
    s << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
    for (size_t i = 0; i < ys.size(); ++i) s << xpos(x0, r.steps[i].concurrency) << "," << y0 + ih - ys[i] / ymax * ih << " ";
    s << "\"/>\n";
    for (size_t i = 0; i < ys.size(); ++i) {
      s << "<circle cx=\"" << xpos(x0, r.steps[i].concurrency) << "\" cy=\"" << y0 + ih - ys[i] / ymax * ih
        << "\" r=\"3\" fill=\"" << color << "\"/>\n";
    }
    s << "<text x=\"" << x0 + 6 << "\" y=\"" << y0 + 14 + 13 * li << "\" fill=\"" << color << "\">" << Escape(label) << "</text>\n";
  };
  auto yticks = [&](int x0, int y0, double ymax) {
    for (int k = 0; k <= 4; ++k) {
      s << "<text x=\"" << x0 - 4 << "\" y=\"" << y0 + ih - k * ih / 4.0 + 4 << "\" text-anchor=\"end\">"
        << F("%.3g", ymax * k / 4) << "</text>\n";
    }
  };
  // Panel 1: latency.
  {
    auto [x0, y0] = panel(0, "Latency vs concurrency (measured)", "ms");
    std::vector<double> tp50, tp99, ip99;
    double ymax = 1;
    for (const auto& st : r.steps) {
      tp50.push_back(st.load.ttft_ms.p50);
      tp99.push_back(st.load.ttft_ms.p99);
      ip99.push_back(st.load.itl_ms.p99);
      ymax = std::max({ymax, st.load.ttft_ms.p99, st.load.itl_ms.p99});
    }
    ymax = std::max({ymax, r.options.slo.ttft_ms, r.options.slo.itl_ms}) * 1.1;
    yticks(x0, y0, ymax);
    line(x0, y0, ymax, tp50, "#1f77b4", "TTFT p50", 0);
    line(x0, y0, ymax, tp99, "#0b3d91", "TTFT p99", 1);
    line(x0, y0, ymax, ip99, "#d62728", "ITL p99", 2);
    auto slo_line = [&](double v, const char* color, const std::string& label) {
      if (v <= 0) return;
      const double y = y0 + ih - v / ymax * ih;
      s << "<line x1=\"" << x0 << "\" x2=\"" << x0 + iw << "\" y1=\"" << y << "\" y2=\"" << y << "\" stroke=\"" << color
        << "\" stroke-dasharray=\"6,4\"/>\n<text x=\"" << x0 + iw - 4 << "\" y=\"" << y - 3 << "\" text-anchor=\"end\" fill=\""
        << color << "\">" << Escape(label) << "</text>\n";
    };
    slo_line(r.options.slo.ttft_ms, "#0b3d91", "SLO TTFT " + F("%g", r.options.slo.ttft_ms) + " ms");
    slo_line(r.options.slo.itl_ms, "#d62728", "SLO ITL " + F("%g", r.options.slo.itl_ms) + " ms");
    xaxis(x0, y0);
  }
  // Panel 2: throughput.
  {
    auto [x0, y0] = panel(1, "Throughput vs concurrency (measured)", "generated tokens/s");
    std::vector<double> tps;
    double ymax = 1;
    for (const auto& st : r.steps) {
      tps.push_back(st.load.decode_tokens_per_s);
      ymax = std::max(ymax, st.load.decode_tokens_per_s);
    }
    ymax *= 1.1;
    yticks(x0, y0, ymax);
    line(x0, y0, ymax, tps, "#2ca02c", "decode tokens/s", 0);
    if (r.best) {
      const double x = xpos(x0, r.steps[*r.best].concurrency);
      s << "<line x1=\"" << x << "\" x2=\"" << x << "\" y1=\"" << y0 << "\" y2=\"" << y0 + ih
        << "\" stroke=\"#555\" stroke-dasharray=\"3,3\"/>\n<text x=\"" << x + 3 << "\" y=\"" << y0 + ih - 6
        << "\">best within SLO</text>\n";
    }
    xaxis(x0, y0);
  }
  // Panel 3: projected cost per device type.
  {
    auto [x0, y0] = panel(2, "Cost per million tokens (projected)", "USD per 1M generated tokens");
    double ymax = 0;
    for (const auto& p : r.projections) ymax = std::max(ymax, p.cost_per_million_tokens);
    ymax = ymax > 0 ? ymax * 1.1 : 1;
    yticks(x0, y0, ymax);
    const double bw = static_cast<double>(iw) / std::max<size_t>(1, r.projections.size());
    for (size_t i = 0; i < r.projections.size(); ++i) {
      const auto& p = r.projections[i];
      const double x = x0 + i * bw;
      if (p.cost_per_million_tokens > 0) {
        const double h = p.cost_per_million_tokens / ymax * ih;
        s << "<rect x=\"" << x + 3 << "\" y=\"" << y0 + ih - h << "\" width=\"" << bw - 6 << "\" height=\"" << h
          << "\" fill=\"#9467bd\"/>\n<text x=\"" << x + bw / 2 << "\" y=\"" << y0 + ih - h - 3
          << "\" text-anchor=\"middle\" font-size=\"9\">" << F("%.3g", p.cost_per_million_tokens) << "</text>\n";
      } else {
        s << "<text x=\"" << x + bw / 2 << "\" y=\"" << y0 + ih - 4 << "\" text-anchor=\"middle\" font-size=\"9\">"
          << (p.fits ? "n/a" : "no fit") << "</text>\n";
      }
      s << "<text x=\"" << x + bw / 2 << "\" y=\"" << y0 + ih + 14 << "\" text-anchor=\"middle\" font-size=\"9\">"
        << Escape(p.device.id) << "</text>\n";
    }
  }
  s << "<text x=\"10\" y=\"" << H - 10 << "\" fill=\"#555\">Projections: roofline x measured efficiency "
    << F("%.2f", r.efficiency) << "; prices from " << Escape(r.catalog_path) << " (as of " << Escape(r.catalog.as_of)
    << ", to be checked).</text>\n</svg>\n";
  return s.str();
}

}  // namespace cohost::profile
